# Sourced by scaleout-commands.sh and scaleout-idle.sh: a redis-server without persistence and Felix nodes on it, in a
# scratch directory removed at exit. Needs: server_dir, port_redis; sets work.
work="$(mktemp -d)"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

start_redis() {
  redis-server --port "$port_redis" --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
  pids+=($!)
  until redis-cli -p "$port_redis" ping >/dev/null 2>&1; do sleep 0.1; done
}

# start_node name port [VAR=value...]: a node with the prefix "bench", answering ready before this returns.
start_node() {
  local name="$1" port="$2"
  shift 2
  env Felix__Redis__Configuration="127.0.0.1:$port_redis" Felix__Redis__NodeName="$name" Felix__Redis__KeyPrefix=bench \
    ASPNETCORE_URLS="http://127.0.0.1:$port" ASPNETCORE_ENVIRONMENT=Development "$@" \
    dotnet "$server_dir/Felix.Server.dll" --contentRoot "$work" >"$work/$name.log" 2>&1 &
  pids+=($!)
  until curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null; do sleep 0.2; done
}
