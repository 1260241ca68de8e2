# Sourced by workflow-cost.sh and profile-workflows.sh: a server process with the offline model and no client, and
# rounds of workflows started at once. Needs: workflows, delay, store, server_dir, port, work; sets pid.
start_server() {
  Felix__Storage__Provider="$store" Felix__Storage__DataDirectory="$work/data" Felix__Llm__OfflineTokenDelay="$delay" \
  Felix__Workflows__MaxConcurrent=64 Felix__Workflows__QueueCapacity=1000 Felix__Limits__WorkflowsPerMinute=100000 \
  ASPNETCORE_URLS="http://127.0.0.1:$port" ASPNETCORE_ENVIRONMENT=Development \
    dotnet "$server_dir/Felix.Server.dll" --contentRoot "$work" >"$work/server.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
  until curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null; do sleep 0.2; done
}

# Starts $workflows workflows at once and returns when every workflow started so far has completed.
ended=0
round() {
  local i posts=()
  for i in $(seq 1 "$workflows"); do
    curl -sf -X POST "http://127.0.0.1:$port/api/v1/workflows" -H 'Content-Type: application/json' \
      -d "{\"task\":\"Cost of workflow $i\",\"max_steps\":3}" >/dev/null &
    posts+=($!)
  done
  wait "${posts[@]}" || true
  ended=$((ended + workflows))
  until curl -sf "http://127.0.0.1:$port/api/v1/workflows?status=completed&page_size=1" | grep -q "\"total\":$ended"; do
    sleep 0.25
  done
}
