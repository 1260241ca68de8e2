using System.Diagnostics;
using System.Runtime;
using System.Text.Json.Serialization;

namespace Felix.Contracts.Bench;

/// <summary>
/// <c>GET /api/v1/bench/stats</c> of Felix's benchmark mode and of the bare broadcaster it is compared with: process
/// counters the load generator reads around a run (allocations per delivery, memory per connection, JIT activity).
/// </summary>
public sealed record BenchStats(
    [property: JsonPropertyName("allocatedBytes")] long AllocatedBytes,
    [property: JsonPropertyName("heapBytes")] long HeapBytes,
    [property: JsonPropertyName("workingSet")] long WorkingSet,
    [property: JsonPropertyName("published")] long Published,
    [property: JsonPropertyName("gen0")] int Gen0,
    [property: JsonPropertyName("gen2")] int Gen2,
    [property: JsonPropertyName("gcPauseMs")] double GcPauseMs,
    [property: JsonPropertyName("jitMethods")] long JitMethods,
    [property: JsonPropertyName("jitMs")] double JitMs)
{
    /// <summary>This process's counters; with <paramref name="collect"/>, after a full compacting collection.</summary>
    public static BenchStats Capture(bool collect, long published)
    {
        if (collect)
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }

        using var process = Process.GetCurrentProcess();
        return new BenchStats(
            GC.GetTotalAllocatedBytes(precise: true),
            GC.GetTotalMemory(forceFullCollection: false),
            process.WorkingSet64,
            published,
            GC.CollectionCount(0),
            GC.CollectionCount(2),
            GC.GetTotalPauseDuration().TotalMilliseconds,
            JitInfo.GetCompiledMethodCount(),
            JitInfo.GetCompilationTime().TotalMilliseconds);
    }
}

/// <summary><c>POST /api/v1/bench/publish</c>: how many events were published and how long it took.</summary>
public sealed record BenchPublishResult(
    [property: JsonPropertyName("published")] long Published,
    [property: JsonPropertyName("elapsedMs")] double ElapsedMs);
