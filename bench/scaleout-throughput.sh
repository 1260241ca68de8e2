#!/usr/bin/env bash
# Scale-out throughput: events/s delivered by 1, 2 and 3 Felix nodes behind one redis-server, with the load generator's
# scale-out scenario (bench/Felix.Bench.Load/ScaleoutScenario.cs): workflows created and published on node 1, subscribers
# (hub MessagePack and raw) spread evenly over all nodes. Given an older build, runs it and this one alternately, node
# count by node count, so both see the same machine; prints the median of every figure with its range.
# Usage: bench/scaleout-throughput.sh [before-server-dir] [repeats] [generator options...]
#   before-server-dir: Felix.Server/bin/Release/net10.0 of a build from before the bench host (its bench mode is
#   Felix:Bench:Enabled inside Felix.Server); "" to measure this build only. repeats: invocations per build and node count.
set -euo pipefail
cd "$(dirname "$0")/.."
before_dir="${1:-}"
repeats="${2:-2}"
shift $(($# < 2 ? $# : 2))
out="${BENCH_OUT:-bench/results}"
mkdir -p "$out"
ulimit -n "$(ulimit -Hn)"

dotnet build bench/Felix.Bench.Host -c Release -nologo -v q >/dev/null
dotnet build bench/Felix.Bench.Load -c Release -nologo -v q >/dev/null
generator=bench/Felix.Bench.Load/bin/Release/net10.0/Felix.Bench.Load.dll

# The same runtime setting as bench/run.sh (a shared array pool large enough that deliveries do not allocate).
pool=DOTNET_SYSTEM_BUFFERS_SHAREDARRAYPOOL_MAXARRAYSPERPARTITION=8192
builds=(after)
[[ -n "$before_dir" ]] && builds=(before after)
tsv="$out/scaleout.tsv"
log="$out/scaleout.log"
: >"$tsv"
: >"$log"

for repeat in $(seq "$repeats"); do
  for nodes in 1 2 3; do
    for build in "${builds[@]}"; do
      if [[ "$build" == before ]]; then
        dll="$before_dir/Felix.Server.dll"
        environment="Felix__Bench__Enabled=true;$pool"
      else
        dll=bench/Felix.Bench.Host/bin/Release/net10.0/Felix.Bench.Host.dll
        environment="$pool"
      fi
      echo "== repeat $repeat, $nodes node(s), $build; load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
      timeout 600 dotnet "$generator" --scenarios scaleout --scaleout-nodes "$nodes" --transports raw,messagepack \
        --label "$build" --felix-dll "$dll" --server-environment "$environment" --max-rate-repeats 3 --warm-up-max-rounds 4 \
        --port 19400 "$@" >>"$log" 2>&1
      grep -P '^scaleout\t' "$log" | tail -n +$(($(wc -l <"$tsv") + 1)) >>"$tsv"
      grep -P '^scaleout\t' "$log" | tail -n 4 | cut -f2- | column -t -s $'\t'
    done
  done
done

# Median and range of each figure over every run of a build, node count and kind (max rate: repeats x 3 runs).
/usr/bin/python3 - "$tsv" <<'EOF'
import sys, statistics
rows = [line.rstrip('\n').split('\t') for line in open(sys.argv[1])]
columns = ['deliveries/s', 'p50 ms', 'p99 ms', 'node CPU µs/delivery', 'redis CPU µs/delivery', 'redis cmds/event', 'node CPU %', 'load']
groups = {}
for r in rows:
    groups.setdefault((r[3], int(r[2]), r[1]), []).append([float(v) for v in r[6:14]])
print('| run | nodes | build | runs | ' + ' | '.join(columns) + ' |')
print('|---|---|---|---|' + '---|' * len(columns))
for (kind, nodes, build), values in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1], g[0][2] != 'before')):
    cells = []
    for i, _ in enumerate(columns):
        v = [x[i] for x in values]
        cells.append(f'{statistics.median(v):,.6g} ({min(v):,.6g}–{max(v):,.6g})')
    print(f'| {kind} | {nodes} | {build} | {len(values)} | ' + ' | '.join(cells) + ' |')
EOF
