#!/usr/bin/env bash
# What an idle node costs Redis once it stores many finished workflows: one node on a redis-server, N workflows run to
# completion (offline model, no token delay), then INFO stats and commandstats read around a quiet period.
# Usage: bench/scaleout-idle.sh [server-dir] [workflows=500] [seconds=10]
set -euo pipefail
cd "$(dirname "$0")/.."
server_dir="${1:-}"
count="${2:-500}"
seconds="${3:-10}"
if [[ -z "$server_dir" ]]; then
  dotnet build Felix.Server -c Release -nologo -v q >/dev/null
  server_dir=Felix.Server/bin/Release/net10.0
fi

port_redis=6413; port=8413
source bench/scaleout-nodes.sh
start_redis
start_node a "$port" Felix__Llm__OfflineTokenDelay=00:00:00 Felix__Workflows__MaxConcurrent=16 Felix__Limits__WorkflowsPerMinute=100000

for ((i = 0; i < count; i++)); do
  curl -sf -o /dev/null -X POST "http://127.0.0.1:$port/api/v1/workflows" -H 'Content-Type: application/json' \
    -d "{\"task\":\"Stored workflow $i\",\"max_steps\":1}"
done
until [[ "$(redis-cli -p "$port_redis" zcard bench:workflows)" == "$count" ]] \
  && ! curl -sf "http://127.0.0.1:$port/api/v1/workflows?status=running&page_size=1" | grep -q '"workflow_id"' \
  && ! curl -sf "http://127.0.0.1:$port/api/v1/workflows?status=pending&page_size=1" | grep -q '"workflow_id"'; do sleep 1; done

stat() { redis-cli -p "$port_redis" info stats | tr -d '\r' | grep "^$1:" | cut -d: -f2; }
redis-cli -p "$port_redis" config resetstat >/dev/null
sleep "$seconds"
calls=$(redis-cli -p "$port_redis" info commandstats | tr -d '\r' | sed -nE 's/.*:calls=([0-9]+).*/\1/p' | paste -sd+ | bc)
echo "$count finished workflows stored, $seconds s idle:"
echo "  commands/s:      $(echo "scale=1; $calls / $seconds" | bc)"
echo "  keys read/s:     $(echo "scale=1; $(stat keyspace_hits) / $seconds" | bc)"
echo "  bytes sent/s:    $(echo "$(stat total_net_output_bytes) / $seconds" | bc)"
