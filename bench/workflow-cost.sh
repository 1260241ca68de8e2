#!/usr/bin/env bash
# A workflow's own cost, with no client at all: one server process (offline model), N workflows started at once, and
# the process's CPU time (utime + stime from /proc) from the first POST until every workflow has ended. Prints the
# CPU seconds, the wall time and the events published.
# Usage: bench/workflow-cost.sh [workflows] [token-delay] [store] [server-dir]
#   workflows 50, token delay 00:00:00.005, store InMemory (or Sqlite), server-dir a Release build (built if omitted).
set -euo pipefail
cd "$(dirname "$0")/.."
workflows="${1:-50}"; delay="${2:-00:00:00.005}"; store="${3:-InMemory}"; server_dir="${4:-}"
if [[ -z "$server_dir" ]]; then
  dotnet build Felix.Server -c Release -nologo -v q >/dev/null
  server_dir=Felix.Server/bin/Release/net10.0
fi

work="$(mktemp -d)"; port=8421
Felix__Storage__Provider="$store" Felix__Storage__DataDirectory="$work/data" Felix__Llm__OfflineTokenDelay="$delay" \
Felix__Workflows__MaxConcurrent=64 Felix__Workflows__QueueCapacity=1000 Felix__Limits__WorkflowsPerMinute=100000 \
ASPNETCORE_URLS="http://127.0.0.1:$port" ASPNETCORE_ENVIRONMENT=Development \
  dotnet "$server_dir/Felix.Server.dll" --contentRoot "$work" >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null; do sleep 0.2; done

# Warm up: one workflow to its end, so start-up and JIT are not counted.
curl -sf -X POST "http://127.0.0.1:$port/api/v1/workflows" -H 'Content-Type: application/json' -d '{"task":"Warm up","max_steps":3}' >/dev/null
until curl -sf "http://127.0.0.1:$port/api/v1/workflows?status=completed" | grep -q '"total":1'; do sleep 0.2; done

cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
ticks=$(getconf CLK_TCK)
before=$(cpu); start=$(date +%s.%N)
for i in $(seq 1 "$workflows"); do
  curl -sf -X POST "http://127.0.0.1:$port/api/v1/workflows" -H 'Content-Type: application/json' \
    -d "{\"task\":\"Cost of workflow $i\",\"max_steps\":3}" >/dev/null &
done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
until curl -sf "http://127.0.0.1:$port/api/v1/workflows?status=completed" | grep -q "\"total\":$((workflows + 1))"; do sleep 0.1; done
end=$(date +%s.%N); after=$(cpu)
published=$(curl -sf "http://127.0.0.1:$port/metrics" | grep -E '^felix_events_published(_total)?\{?' | awk '{s+=$NF} END {print s}')
echo "workflows=$workflows delay=$delay store=$store cpu_s=$(echo "scale=2; ($after - $before) / $ticks" | bc) wall_s=$(echo "$end - $start" | bc) events_published_since_start=$published"
