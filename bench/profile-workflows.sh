#!/usr/bin/env bash
# Where a workflow's CPU goes: the server (offline model, no client) runs warm-up rounds of N workflows, then perf samples
# one more round, and the frames that hold the most samples (inclusive) are printed with their managed names.
# Usage: bench/profile-workflows.sh [workflows] [token-delay] [store] [server-dir]
#   Needs perf (Debian's linux-perf). The server runs with the JIT's tiering off (TIERED=0 by default), so the profile
#   shows the steady state rather than the JIT compiling a warming process; TIERED=1 profiles the process as it ships.
#   The output is left in $OUT (default /tmp/felix-profile): perf.data and the perf map of the process.
set -euo pipefail
cd "$(dirname "$0")/.."
workflows="${1:-50}"; delay="${2:-00:00:00.012}"; store="${3:-InMemory}"; server_dir="${4:-}"
out="${OUT:-/tmp/felix-profile}"; port="${PORT:-8422}"; tiered="${TIERED:-0}"
command -v perf >/dev/null || { echo "perf is missing (apt-get install linux-perf)" >&2; exit 1; }
if [[ -z "$server_dir" ]]; then
  dotnet build Felix.Server -c Release -nologo -v q >/dev/null
  server_dir=Felix.Server/bin/Release/net10.0
fi
mkdir -p "$out"; work="$(mktemp -d)"
source bench/workflow-rounds.sh
# Perf resolves JIT-compiled code through /tmp/perf-<pid>.map only for code in anonymous memory (W^X off), and
# ReadyToRun code only when it is compiled again (ReadyToRun off).
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 DOTNET_ReadyToRun=0 DOTNET_TieredCompilation="$tiered"
start_server

round; round
perf record -F 999 -g -p "$pid" -o "$out/perf.data" 2>"$out/perf.log" &
perf_pid=$!
sleep 0.5
round
kill -INT "$perf_pid"; wait "$perf_pid" || true
cp "/tmp/perf-$pid.map" "$out/" 2>/dev/null || true
grep -o 'Captured.*' "$out/perf.log" || true
perf report -i "$out/perf.data" --children --sort sym --stdio -g none 2>/dev/null \
  | grep -E '^ +[0-9]' | grep -v ' 0x0000' \
  | sed -E 's/\[(Optimized|OptimizedTier1|QuickJitted)\]//; s/ +\[[.k]\] / /' | cut -c1-200 | head -"${TOP:-60}"
