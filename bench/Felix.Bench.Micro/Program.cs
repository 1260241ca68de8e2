using BenchmarkDotNet.Running;

// The per-event hot path in isolation: serialising one event per transport and protocol, the publish path, the log append.
// Usage: dotnet run -c Release --project bench/Felix.Bench.Micro -- --filter '*' [--job short]
BenchmarkSwitcher.FromAssembly(typeof(Felix.Bench.Micro.SerializationBenchmarks).Assembly).Run(args);
