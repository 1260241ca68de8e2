#!/usr/bin/env bash
# A workflow's own cost, with no client at all: one server process (offline model), rounds of N workflows started at
# once, and the process's CPU time (utime + stime from /proc) from a round's first POST until every workflow of it has
# ended. Warm-up rounds come first so that start-up and the JIT's tiering are not counted (a round of 50 workflows
# after a single warm-up workflow spent more than half of its CPU in the JIT).
# Prints one line per measured round: CPU seconds, wall time, events published in the round, and per event the
# process's voluntary context switches (a thread going to sleep: each is a wake-up later; summed over its threads) and
# thread-pool work items (those two count hand-offs, and unlike CPU time they hardly move with the machine's load), and
# the bytes allocated, and the write system calls and bytes written (the SQLite log's WAL; wchar counts sockets too);
# and the CPU time of the SQLite log's writer thread alone.
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
# The SQLite writer thread alone (its name, cut to 15 characters by Linux, has spaces: fields counted after the name;
# builds before record writes joined it named it "Felix SQLite event writer"); 0 with the in-memory store.
writer_cpu() { local t c; for t in /proc/$pid/task/*; do c="$(cat "$t/comm" 2>/dev/null)"; [[ "$c" == "Felix SQLite ev" || "$c" == "Felix SQLite wr" ]] && sed 's/.*) //' "$t/stat" | awk '{print $12 + $13}' && return; done; echo 0; }
# A metric an older build does not export reads as empty, and its per-event figure prints as n/a.
metric() { curl -sf "http://127.0.0.1:$port/metrics" | awk -v name="$1" '$1 ~ "^" name "(_total)?($|\\{)" {s += $NF; n++} END {if (n) printf "%.0f\n", s}'; }
published() { metric felix_events_published; }
pool_items() { metric dotnet_thread_pool_work_item_count; }
# Bytes allocated by every thread; each read of /metrics allocates too (about 135 KB), which this counts once per round.
allocated() { metric dotnet_gc_heap_total_allocated_bytes; }
# The JIT's time (the runtime's own count, in seconds): what it spends in a measured round is the process still
# warming (tier-1 recompiles), not the workflows' cost.
jit_time() { curl -sf "http://127.0.0.1:$port/metrics" | awk '$1 ~ /^dotnet_jit_compilation_time_seconds(_total)?($|\{)/ {s += $NF; n++} END {if (n) printf "%.3f\n", s}'; }
per_event() { if [[ -n "$1" && -n "$2" ]]; then echo "scale=$3; ($2 - $1) / $events" | bc; else echo n/a; fi; }
sleeps() { cat /proc/$pid/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s}'; }
# What the process wrote (to the log's files, in this benchmark): write system calls and bytes, from /proc/PID/io.
io() { awk -v key="$1:" '$1 == key {print $2}' "/proc/$pid/io"; }
ticks=$(getconf CLK_TCK)

for r in $(seq 1 "$warmup_rounds"); do round; done
for r in $(seq 1 "$rounds"); do
  bytes_before=$(allocated); jit_before=$(jit_time); items_before=$(pool_items); events_before=$(published); sleeps_before=$(sleeps)
  writes_before=$(io syscw); written_before=$(io wchar); writer_before=$(writer_cpu); before=$(cpu); start=$(date +%s.%N)
  round
  end=$(date +%s.%N); after=$(cpu); writer_after=$(writer_cpu); writes_after=$(io syscw); written_after=$(io wchar)
  sleeps_after=$(sleeps); events_after=$(published); items_after=$(pool_items); bytes_after=$(allocated); jit_after=$(jit_time)
  events=$((events_after - events_before))
  echo "round=$r workflows=$workflows delay=$delay store=$store cpu_s=$(echo "scale=2; ($after - $before) / $ticks" | bc) wall_s=$(echo "scale=2; ($end - $start) / 1" | bc) events=$events" \
    "writer_cpu_s=$(echo "scale=2; ($writer_after - $writer_before) / $ticks" | bc)" \
    "jit_s=$(if [[ -n "$jit_before" && -n "$jit_after" ]]; then echo "scale=2; ($jit_after - $jit_before) / 1" | bc; else echo n/a; fi)" \
    "sleeps_per_event=$(per_event "$sleeps_before" "$sleeps_after" 1) pool_items_per_event=$(per_event "$items_before" "$items_after" 2)" \
    "bytes_per_event=$(per_event "$bytes_before" "$bytes_after" 0)" \
    "writes_per_event=$(per_event "$writes_before" "$writes_after" 2) bytes_written_per_event=$(per_event "$written_before" "$written_after" 0)"
done
