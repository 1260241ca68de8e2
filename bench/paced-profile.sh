#!/usr/bin/env bash
# Where the real server's CPU goes in a paced run: one pair of bench/paced.sh's shape, with perf sampling the Felix
# process from PACED_PROFILE_DELAY seconds after its start to its end (JIT frames named through DOTNET_PerfMapEnabled,
# which needs W^X off), reported for the measured run only (the process's last seconds). Not a measurement: perf
# costs CPU too.
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
# pgrep -n, not pgrep | head: a pipeline's status is head's, so the loop would not wait for the process.
until pid=$(pgrep -n -f "Felix.Server.dll --urls http://127.0.0.1:$port "); do sleep 0.05; done
sleep "${PACED_PROFILE_DELAY:-0}"
perf record -F 499 -g -p "$pid" -o "$out/perf.data" >/dev/null 2>&1 || true
bare=""
for _ in $(seq 200); do
  bare=$(pgrep -n -f "Felix.Bench.Baseline.dll --urls http://127.0.0.1:$((port + 1))$") && break
  sleep 0.05
done
wait "$generator"
# Only the measured run: the process's last samples, as many seconds as the run took (it ends a moment after the run).
seconds=$(grep -oP '^felix/.* in \K[0-9.]+(?= s \()' "$out/run.log" | head -1)
end=$(perf script -i "$out/perf.data" -F time 2>/dev/null | tail -1 | tr -d ' :')
start=$(echo "$end - $seconds - 0.5" | bc)
report() { perf report -i "$out/perf.data" --no-children --stdio --call-graph=none --time "$start,$end" "$@" 2>/dev/null | grep '%' || true; }
report --sort dso | head -15 >"$out/dso.txt"
report --sort dso,sym | head -80 >"$out/symbols.txt"
# What the JIT compiled for: each JIT sample's nearest managed frame ("none": the background tiering thread).
perf script -i "$out/perf.data" --time "$start,$end" -F ip,sym,dso 2>/dev/null | awk '
  /^$/ { if (jit) count[caller == "" ? "none" : caller]++; first = 1; jit = 0; caller = ""; next }
  first { first = 0; jit = ($0 ~ /libclrjit/); next }
  jit && caller == "" && /perf-[0-9]+\.map/ && !/stub|\[unknown\]/ { sub(/^ *[0-9a-f]+ /, ""); sub(/ \(\/tmp\/perf-[0-9]+\.map\)$/, ""); caller = $0 }
  END { for (c in count) print count[c], c }' | sort -rn | head -30 >"$out/jit-callers.txt"
rm -f "/tmp/perf-$pid.map" "/tmp/perfinfo-$pid.map"
[[ -z "$bare" ]] || rm -f "/tmp/perf-$bare.map" "/tmp/perfinfo-$bare.map"
cat "$out/dso.txt"
