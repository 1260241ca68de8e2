#!/usr/bin/env bash
# Felix benchmark: load scenarios against Felix (the bench host, bench/Felix.Bench.Host) and the bare Kestrel broadcaster in the same run,
# then the BenchmarkDotNet microbenchmarks. Loopback only; every run is bounded. Usage: bench/run.sh [load|micro|all] [load options]
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"; shift || true
out="${BENCH_OUT:-bench/results}"
mkdir -p "$out"

# Idle connections need as many descriptors in the generator and in the server (which inherits the limit; .NET raises
# its soft limit to the hard one): 10,000 for density, 40,000 for hold. Raise the hard limit where allowed (it needs
# CAP_SYS_RESOURCE), else take the hard limit as it is (20,000 on the bench machine: hold then fits about 19,800).
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

dotnet build bench/Felix.Bench.Host -c Release -nologo -v q
dotnet build bench/Felix.Bench.Baseline -c Release -nologo -v q
dotnet build bench/Felix.Bench.Load -c Release -nologo -v q

# Both servers run with a larger shared ArrayPool: SignalR's pipes hold 4 KiB arrays from it while sends are in flight,
# up to 16 per connection at max rate (16,000 for 1,000 subscribers, over two per-core partitions here), and a smaller
# pool (the default keeps 32 arrays per core) runs dry, so every delivery allocates (see docs/performance.md).
# BENCH_SERVER_ENV= (empty) measures with the runtime defaults.
server_env="${BENCH_SERVER_ENV-DOTNET_SYSTEM_BUFFERS_SHAREDARRAYPOOL_MAXARRAYSPERPARTITION=8192}"

if [[ "$what" == load || "$what" == all ]]; then
  dotnet bench/Felix.Bench.Load/bin/Release/net10.0/Felix.Bench.Load.dll --output "$out/load.md" \
    --server-environment "$server_env" "$@" | tee "$out/load.log"
fi

if [[ "$what" == micro || "$what" == all ]]; then
  dotnet run -c Release --project bench/Felix.Bench.Micro -- --filter '*' --job short --artifacts "$out/micro" | tee "$out/micro.log"
fi
