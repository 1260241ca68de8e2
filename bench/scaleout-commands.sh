#!/usr/bin/env bash
# Redis commands per published event in scale-out: two server nodes on one redis-server, a workflow run on one node
# (offline model) and watched live through the workflow hub on the other (`felix watch`), INFO commandstats read
# around the run (after a first workflow, not counted), and MONITOR to tell the commands the nodes sent from those their scripts called. Prints each command's
# calls, the events of the run, and both counts per event.
# Usage: bench/scaleout-commands.sh [server-dir]   (server-dir: a Release build of Felix.Server; built here if omitted)
set -euo pipefail
cd "$(dirname "$0")/.."
server_dir="${1:-}"
if [[ -z "$server_dir" ]]; then
  dotnet build Felix.Server -c Release -nologo -v q >/dev/null
  server_dir=Felix.Server/bin/Release/net10.0
fi
dotnet build clients/dotnet/Felix.Cli -c Release -nologo -v q >/dev/null
cli=clients/dotnet/Felix.Cli/bin/Release/net10.0/Felix.Cli.dll

port_redis=6411; port_a=8411; port_b=8412
source bench/scaleout-nodes.sh
start_redis
start_node a "$port_a" Felix__Llm__OfflineTokenDelay=00:00:00.005
start_node b "$port_b" Felix__Llm__OfflineTokenDelay=00:00:00.005

# One workflow first, not counted: a node loads each script into Redis on its first use (SCRIPT LOAD, then EVAL), a cost
# per process, not per workflow.
warm=$(curl -sf -X POST "http://127.0.0.1:$port_a/api/v1/workflows" -H 'Content-Type: application/json' \
  -d '{"task":"Warm up","max_steps":3}' | sed -E 's/.*"workflow_id":"([^"]+)".*/\1/')
until curl -sf "http://127.0.0.1:$port_a/api/v1/workflows/$warm" | grep -q '"status":"completed"'; do sleep 0.2; done

redis-cli -p "$port_redis" config resetstat >/dev/null
redis-cli -p "$port_redis" monitor >"$work/monitor.log" &
monitor=$!
id=$(curl -sf -X POST "http://127.0.0.1:$port_a/api/v1/workflows" -H 'Content-Type: application/json' \
  -d '{"task":"Measure the Redis commands of one workflow","max_steps":3}' | sed -E 's/.*"workflow_id":"([^"]+)".*/\1/')
# Watch from the node that does not run it: whichever took it, the other one.
sleep 0.5
runner=$(redis-cli -p "$port_redis" hget bench:owners "$id")
watch_port=$port_b; [[ "$runner" == b ]] && watch_port=$port_a
dotnet "$cli" watch "$id" --json --url "http://127.0.0.1:$watch_port" >"$work/watch.ndjson" || true
sleep 1
kill "$monitor"
stats=$(redis-cli -p "$port_redis" info commandstats | tr -d '\r' | grep '^cmdstat_')
events=$(wc -l <"$work/watch.ndjson")

echo "workflow $id ran on node ${runner:-?}, watched on port $watch_port: $events events"
echo "$stats" | sed -E 's/^cmdstat_([a-z|_]+):calls=([0-9]+).*/\1 \2/' | sort -k2 -n -r | column -t
total=$(echo "$stats" | sed -E 's/.*:calls=([0-9]+).*/\1/' | paste -sd+ | bc)
# MONITOR marks what a script called with [.. lua]; everything else came from a node (leases and queue polls included).
in_scripts=$(grep -c ' lua\] ' "$work/monitor.log" || true)
sent=$(grep -c '^[0-9]' "$work/monitor.log" || true); sent=$((sent - in_scripts))
echo "all commands (INFO commandstats, script calls included): $total, $(echo "scale=2; $total / $events" | bc) per event"
echo "commands the nodes sent (MONITOR, a script call counted once): $sent, $(echo "scale=2; $sent / $events" | bc) per event"
