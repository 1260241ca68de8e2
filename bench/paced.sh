#!/usr/bin/env bash
# Issue #20 at a model's pace: real workflows on the real server (Felix.Server, default SQLite store, offline model)
# against the bare servers replaying what it sent (bench/Felix.Bench.Load/PacedScenario.cs), shape by shape, each as
# three pairs. Usage: bench/paced.sh [shape...] with shapes fanout-raw fanout-messagepack many-50x4-raw
# many-100x10-raw many-100x10-messagepack (all, in that order, when none is given), and two that split the cost:
# one-client-raw (1 workflow x 1 client at the fan-out pace: the workflow's own cost per event) and many-50x4-raw-fast
# (50 x 4 at the fan-out pace). Results in bench/results/paced*.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${BENCH_OUT:-bench/results}"
mkdir -p "$out"
ulimit -n "$(ulimit -Hn)"

dotnet build Felix.Server -c Release -nologo -v q
dotnet build bench/Felix.Bench.Baseline -c Release -nologo -v q
dotnet build bench/Felix.Bench.Load -c Release -nologo -v q

# One workflow at about 100 events/s (7 ms a token) with 200 clients; many workflows at about 20 events/s (50 ms a
# token, the token-streaming scenario's pace) with a few clients each.
# Warm-up: three rounds of the measured ten agents (a shorter round leaves methods that run once an agent to tier up
# during the measured run), or two of two for many workflows; the generator adds rounds while one still compiled code
# (two rounds of 50 x 4 left 0.9 s of JIT in the measured window) and prints the JIT time inside each window.
# The bare server's fan-out warm-up replays the whole trace (about 6 s): with its first 3 s only it still compiled
# 0.5-0.7 s inside its window.
fanout=(--paced-workflows 1 --paced-clients 200 --paced-token-delay 00:00:00.007 --paced-max-steps 10 --paced-warm-up-steps 10 --paced-warm-up-rounds 3 --paced-warm-up-seconds 10)
many=(--paced-token-delay 00:00:00.050 --paced-max-steps 5 --paced-warm-up-steps 2 --paced-warm-up-rounds 2)

run() {
  local name="$1"; shift
  echo "== $name: $(date -u +%FT%TZ), nproc $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/paced.log"
  dotnet bench/Felix.Bench.Load/bin/Release/net10.0/Felix.Bench.Load.dll --scenarios paced --output "$out/paced-$name.md" "$@" \
    | tee -a "$out/paced.log"
}

shapes=("$@")
[[ ${#shapes[@]} -gt 0 ]] || shapes=(fanout-raw fanout-messagepack many-50x4-raw many-100x10-raw many-100x10-messagepack)
for shape in "${shapes[@]}"; do
  case "$shape" in
    fanout-raw) run "$shape" --transports raw "${fanout[@]}" ;;
    fanout-messagepack) run "$shape" --transports messagepack "${fanout[@]}" ;;
    many-50x4-raw) run "$shape" --transports raw --paced-workflows 50 --paced-clients 4 "${many[@]}" ;;
    many-100x10-raw) run "$shape" --transports raw --paced-workflows 100 --paced-clients 10 "${many[@]}" ;;
    many-100x10-messagepack) run "$shape" --transports messagepack --paced-workflows 100 --paced-clients 10 "${many[@]}" ;;
    one-client-raw) run "$shape" --transports raw "${fanout[@]}" --paced-clients 1 ;;
    many-50x4-raw-fast) run "$shape" --transports raw --paced-workflows 50 --paced-clients 4 "${many[@]}" --paced-token-delay 00:00:00.007 ;;
    *) echo "unknown shape $shape" >&2; exit 2 ;;
  esac
done
echo "== done: $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/paced.log"
