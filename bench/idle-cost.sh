#!/usr/bin/env bash
# What an idle server costs: one server process (embedded defaults, no client, no workflow), left alone for a settling
# period, then measured over a window: thread-pool work items per second (from /metrics), the process's sleeps per
# second (voluntary context switches summed over its threads: each is a wake-up later), the timer thread's, and CPU.
# Usage: bench/idle-cost.sh [server-dir] [seconds]   (server-dir: a Release build of Felix.Server, built if omitted)
#   PORT (default 8431), SETTLE seconds before measuring (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
server_dir="${1:-}"; seconds="${2:-20}"; port="${PORT:-8431}"; settle="${SETTLE:-10}"
if [[ -z "$server_dir" ]]; then
  dotnet build Felix.Server -c Release -nologo -v q >/dev/null
  server_dir=Felix.Server/bin/Release/net10.0
fi
work="$(mktemp -d)"
ASPNETCORE_URLS="http://127.0.0.1:$port" ASPNETCORE_ENVIRONMENT=Development \
  dotnet "$server_dir/Felix.Server.dll" --contentRoot "$work" >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null; do sleep 0.2; done
sleep "$settle"

items() { curl -sf "http://127.0.0.1:$port/metrics" | awk '/^dotnet_thread_pool_work_item_count_total/ {print $NF}'; }
sleeps() { cat /proc/$pid/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s}'; }
timer_sleeps() {
  local t
  for t in /proc/$pid/task/*; do
    if [[ "$(cat "$t/comm" 2>/dev/null)" == ".NET Timer" ]]; then awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status"; return; fi
  done
}
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
ticks=$(getconf CLK_TCK)

i0=$(items); s0=$(sleeps); t0=$(timer_sleeps); c0=$(cpu)
sleep "$seconds"
c1=$(cpu); t1=$(timer_sleeps); s1=$(sleeps); i1=$(items)   # the second read of /metrics is one work item or so
echo "seconds=$seconds work_items_per_s=$(echo "scale=1; ($i1 - $i0) / $seconds" | bc)" \
  "sleeps_per_s=$(echo "scale=1; ($s1 - $s0) / $seconds" | bc) timer_thread_sleeps_per_s=$(echo "scale=1; ($t1 - $t0) / $seconds" | bc)" \
  "cpu_percent=$(echo "scale=2; 100 * ($c1 - $c0) / $ticks / $seconds" | bc)"
