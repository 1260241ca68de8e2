#!/usr/bin/env bash
# Where the real server's CPU goes in a paced run: one pair of bench/paced.sh's shape, with perf sampling the Felix
# process from PACED_PROFILE_DELAY seconds after its start (past the warm-up) to its end (JIT frames named through
# DOTNET_PerfMapEnabled, which needs W^X off). Not a measurement: perf costs CPU too.
# Usage: bench/paced-profile.sh OUTDIR [generator options, e.g. --transports raw --paced-workflows 50 ...]
set -euo pipefail
cd "$(dirname "$0")/.."
out="$1"; shift
port="${PACED_PORT:-19500}"
mkdir -p "$out"
dotnet bench/Felix.Bench.Load/bin/Release/net10.0/Felix.Bench.Load.dll --scenarios paced --paced-repeats 1 --port "$port" \
  --server-environment "DOTNET_PerfMapEnabled=1;DOTNET_EnableWriteXorExecute=0" "$@" >"$out/run.log" 2>&1 &
generator=$!
# The real server of this run, then the bare one (its perf map is removed too).
until pid=$(pgrep -f "Felix.Server.dll --urls http://127.0.0.1:$port " | head -1); do sleep 0.05; done
sleep "${PACED_PROFILE_DELAY:-0}"
perf record -F 499 -g -p "$pid" -o "$out/perf.data" >/dev/null 2>&1 || true
bare=""
for _ in $(seq 200); do
  bare=$(pgrep -f "Felix.Bench.Baseline.dll --urls http://127.0.0.1:$((port + 1))$" | head -1) && break
  sleep 0.05
done
wait "$generator"
report() { perf report -i "$out/perf.data" --no-children --stdio --call-graph=none "$@" 2>/dev/null | grep '%' || true; }
report --sort dso | head -15 >"$out/dso.txt"
report --sort dso,sym | head -80 >"$out/symbols.txt"
rm -f "/tmp/perf-$pid.map" "/tmp/perfinfo-$pid.map"
[[ -z "$bare" ]] || rm -f "/tmp/perf-$bare.map" "/tmp/perfinfo-$bare.map"
cat "$out/dso.txt"
