#!/usr/bin/env bash
# Soak: churn over every transport on one node for a while, then a quiet period, and check that nothing stayed behind.
# Usage: bench/soak.sh [minutes=22] [server-dir]     (SOAK_PORT=19800 by default; the measured run is `bench/soak.sh 22`)
#
# One Release server (SQLite in a fresh temp content root, FELIX_API_KEY=k1, offline model with a 3 ms token delay, the
# workflow and connection-attempt rate limits raised so they do not refuse the churn, ASP.NET Core logs at Warning).
# bench/Felix.Bench.Soak warms it up for 20 s, then after the same quiet period as at the end (2 minutes: the last
# closed sockets' waits run out) the baseline is sampled; then it churns for [minutes] (REST create/cancel, raw WebSockets, workflow and system hubs in JSON and MessagePack, AG-UI), sampled every
# minute; then 2 minutes quiet and a last sample; then every stored workflow's history is read back and checked.
# A sample: RSS, open descriptors, threads (/proc/PID), and from /metrics the timer count, the last GC's heap size,
# felix_workflows_running/queued and felix_connections_open by transport; the database and WAL sizes; load average.
#
# Verdicts (exit code 1 if either fails):
#   stored histories whole         every workflow (the ids the client created plus all the server lists, AG-UI runs
#                                  included): events from sequence 1, contiguous, one epoch, at most one pending and one
#                                  running status, exactly one terminal event and it is the last, final workflow status.
#   resources back to baseline     after the quiet period: open descriptors <= baseline + 10 (a pooled database
#                                  connection or two may stay open), timers <= baseline + 10 (the runtime's own come and
#                                  go), workflows running and queued 0, every felix_connections_open gauge 0.
#                                  RSS, threads and the GC heap are shown, not judged: RSS keeps pages once touched.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-22}"
server_dir="${2:-}"
port="${SOAK_PORT:-19800}"
quiet="${SOAK_QUIET_SECONDS:-120}" # shorter only to try the script itself
key=k1
url="http://127.0.0.1:$port"

if [[ -z "$server_dir" ]]; then
  dotnet build Felix.Server -c Release -nologo -v q >/dev/null
  server_dir=Felix.Server/bin/Release/net10.0
fi
dotnet build bench/Felix.Bench.Soak -c Release -nologo -v q >/dev/null
soak=(dotnet bench/Felix.Bench.Soak/bin/Release/net10.0/Felix.Bench.Soak.dll --url "$url" --key "$key")

work=$(mktemp -d)
server_pid=""
sampler_pid=""
passed=0
cleanup() {
  [[ -n "$sampler_pid" ]] && kill "$sampler_pid" 2>/dev/null || true
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ "$passed" == 1 ]]; then rm -rf "$work"; else echo "kept for a look: $work (server.log, samples, churn.log, ids)"; fi
}
trap cleanup EXIT

env FELIX_API_KEY="$key" \
  Felix__Llm__OfflineTokenDelay=00:00:00.003 \
  Felix__Limits__WorkflowsPerMinute=100000 \
  Felix__Limits__ConnectionAttemptsPerMinute=100000 \
  Felix__Limits__PrincipalConnectionAttemptsPerMinute=100000 \
  Logging__LogLevel__Microsoft.AspNetCore=Warning \
  dotnet "$server_dir/Felix.Server.dll" --urls "$url" --contentRoot "$work" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  curl -sf -o /dev/null "$url/health/ready" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; echo "server did not start"; exit 1; }
  sleep 0.2
done

# One line per call: label|UTC|rss MB|fds|threads|timers|heap MB|running|queued|open connections|db MB|WAL MB|load
sample() {
  local label=$1 metrics
  metrics=$(curl -s -H "Authorization: Bearer $key" "$url/metrics")
  sum() { echo "$metrics" | grep -E "^$1[{ ]" | awk '{s+=$NF} END{printf "%.0f", s}'; }
  local rss fds threads connections db wal
  rss=$(awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$server_pid/status")
  fds=$(ls "/proc/$server_pid/fd" | wc -l)
  threads=$(ls "/proc/$server_pid/task" | wc -l)
  connections=$(echo "$metrics" | grep -E '^felix_connections_open' \
    | sed -E 's/.*transport="([^"]*)".* ([0-9.e+]+)$/\1=\2/' | sort | paste -sd' ' -)
  db=$(stat -c %s "$work/data/felix.db" 2>/dev/null | awk '{printf "%.1f", $1/1048576}')
  wal=$(stat -c %s "$work/data/felix.db-wal" 2>/dev/null | awk '{printf "%.1f", $1/1048576}')
  printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$label" "$(date -u +%H:%M:%S)" "$rss" "$fds" "$threads" \
    "$(sum dotnet_timer_count)" "$(sum dotnet_gc_last_collection_heap_size_bytes | awk '{printf "%.1f", $1/1048576}')" \
    "$(sum felix_workflows_running)" "$(sum felix_workflows_queued)" "${connections:-none}" "${db:--}" "${wal:--}" \
    "$(cut -d' ' -f1 /proc/loadavg)"
}
samples="$work/samples"
sample "cold start" >>"$samples"

echo "warm-up: 20 s of churn, then $quiet s quiet"
"${soak[@]}" --minutes 0.33 --ids "$work/ids-warmup.txt" >"$work/warmup.log"
sleep "$quiet"
sample "baseline (warm, idle)" >>"$samples"

( while sleep 60; do sample "churn" >>"$samples"; done ) &
sampler_pid=$!
"${soak[@]}" --minutes "$minutes" --ids "$work/ids-churn.txt" | tee "$work/churn.log" | grep -v -e '^[0-9][0-9]:' -e '^ids written' || true
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""
sample "churn stopped" >>"$samples"
echo "quiet: $quiet s"
sleep "$quiet"
sample "after $quiet s quiet" >>"$samples"

echo
echo "| sample | UTC | RSS MB | fds | threads | timers | GC heap MB | running | queued | open connections | db MB | WAL MB | load |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
awk -F'|' '{ printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; print "" }' "$samples"
echo

cat "$work/ids-warmup.txt" "$work/ids-churn.txt" >"$work/ids.txt"
histories=PASS
"${soak[@]}" --check "$work/ids.txt" --all-stored || histories=FAIL

IFS='|' read -r _ _ _ base_fds _ base_timers _ <<<"$(grep '^baseline' "$samples")"
IFS='|' read -r _ _ _ end_fds _ end_timers _ end_running end_queued end_connections _ <<<"$(tail -1 "$samples")"
resources=PASS
reasons=()
((end_fds <= base_fds + 10)) || reasons+=("fds $end_fds > baseline $base_fds + 10")
((end_timers <= base_timers + 10)) || reasons+=("timers $end_timers > baseline $base_timers + 10")
[[ "$end_running" == 0 && "$end_queued" == 0 ]] || reasons+=("workflows running $end_running, queued $end_queued")
for gauge in $end_connections; do
  [[ "$gauge" == none || "${gauge#*=}" == 0 ]] || reasons+=("open connections $gauge")
done
((${#reasons[@]} == 0)) || resources=FAIL
if grep -qE '^(warn|fail|crit)' "$work/server.log"; then
  echo "server log warnings/errors: $(grep -cE '^(warn|fail|crit)' "$work/server.log") (first: $(grep -m1 -A1 -E '^(warn|fail|crit)' "$work/server.log" | tr '\n' ' '))"
else
  echo "server log warnings/errors: none"
fi
echo "$histories stored histories whole"
echo "$resources resources back to baseline after quiet (fds $base_fds -> $end_fds, timers $base_timers -> $end_timers, running $end_running, queued $end_queued, connections ${end_connections})${reasons:+: ${reasons[*]}}"
[[ "$histories" == PASS && "$resources" == PASS ]] && passed=1
((passed))
