using System.Diagnostics;
using System.Runtime;
using System.Text.Json.Serialization;

namespace Felix.Bench.Contracts;

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
    [property: JsonPropertyName("jitMs")] double JitMs,
    [property: JsonPropertyName("gcCommittedBytes")] long GcCommittedBytes,
    [property: JsonPropertyName("gcFragmentedBytes")] long GcFragmentedBytes)
{
    /// <summary>
    /// This process's counters; with <paramref name="collect"/>, after a full compacting collection, and with
    /// <paramref name="aggressive"/>, after one that also hands the GC's spare memory back to the OS
    /// (<see cref="GCCollectionMode.Aggressive"/>), which shows what the live objects alone need.
    /// </summary>
    public static BenchStats Capture(bool collect, long published, bool aggressive = false)
    {
        if (collect || aggressive)
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(GC.MaxGeneration, aggressive ? GCCollectionMode.Aggressive : GCCollectionMode.Forced, blocking: true, compacting: true);
        }

        using var process = Process.GetCurrentProcess();
        var gc = GC.GetGCMemoryInfo();
        return new BenchStats(
            GC.GetTotalAllocatedBytes(precise: true),
            GC.GetTotalMemory(forceFullCollection: false),
            process.WorkingSet64,
            published,
            GC.CollectionCount(0),
            GC.CollectionCount(2),
            GC.GetTotalPauseDuration().TotalMilliseconds,
            JitInfo.GetCompiledMethodCount(),
            JitInfo.GetCompilationTime().TotalMilliseconds,
            gc.TotalCommittedBytes,
            gc.FragmentedBytes);
    }
}

/// <summary><c>POST /api/v1/bench/publish</c>: how many events were published and how long it took.</summary>
public sealed record BenchPublishResult(
    [property: JsonPropertyName("published")] long Published,
    [property: JsonPropertyName("elapsedMs")] double ElapsedMs);
