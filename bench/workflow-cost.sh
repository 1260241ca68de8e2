#!/usr/bin/env bash
# A workflow's own cost, with no client at all: one server process (offline model), rounds of N workflows started at
# once, and the process's CPU time (utime + stime from /proc) from a round's first POST until every workflow of it has
# ended. Warm-up rounds come first so that start-up and the JIT's tiering are not counted (a round of 50 workflows
# after a single warm-up workflow spent more than half of its CPU in the JIT).
# Prints one line per measured round: CPU seconds, wall time, events published in the round.
# Usage: bench/workflow-cost.sh [workflows] [token-delay] [store] [server-dir]
#   workflows 50, token delay 00:00:00.005, store InMemory (or Sqlite), server-dir a Release build (built if omitted).
#   WARMUP_ROUNDS (default 3) and ROUNDS (default 3) in the environment; the server inherits the environment, so
#   runtime settings (DOTNET_...) can be tried the same way. PORT (default 8421).
set -euo pipefail
cd "$(dirname "$0")/.."
workflows="${1:-50}"; delay="${2:-00:00:00.005}"; store="${3:-InMemory}"; server_dir="${4:-}"
warmup_rounds="${WARMUP_ROUNDS:-3}"; rounds="${ROUNDS:-3}"; port="${PORT:-8421}"
if [[ -z "$server_dir" ]]; then
  dotnet build Felix.Server -c Release -nologo -v q >/dev/null
  server_dir=Felix.Server/bin/Release/net10.0
fi

work="$(mktemp -d)"
source bench/workflow-rounds.sh
start_server

cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
published() { curl -sf "http://127.0.0.1:$port/metrics" | grep -E '^felix_events_published(_total)?\{?' | awk '{s+=$NF} END {print s+0}'; }
ticks=$(getconf CLK_TCK)

for r in $(seq 1 "$warmup_rounds"); do round; done
for r in $(seq 1 "$rounds"); do
  events_before=$(published); before=$(cpu); start=$(date +%s.%N)
  round
  end=$(date +%s.%N); after=$(cpu); events_after=$(published)
  echo "round=$r workflows=$workflows delay=$delay store=$store cpu_s=$(echo "scale=2; ($after - $before) / $ticks" | bc) wall_s=$(echo "scale=2; ($end - $start) / 1" | bc) events=$((events_after - events_before))"
done
