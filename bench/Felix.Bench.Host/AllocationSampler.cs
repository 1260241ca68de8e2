using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Felix.Bench.Host;

/// <summary>
/// An in-process allocation profile for the benchmark mode: the runtime's allocation tick (one event per ~100 KB
/// allocated, naming the type that crossed it) summed per type over a window. No dotnet-trace needed.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;

    private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);

    public IReadOnlyList<KeyValuePair<string, long>> Top(int count) =>
        [.. _bytes.OrderByDescending(p => p.Value).Take(count)];

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || eventData.PayloadNames is null)
        {
            return;
        }

        var type = eventData.PayloadNames.IndexOf("TypeName");
        var amount = eventData.PayloadNames.IndexOf("AllocationAmount64");
        if (type >= 0 && amount >= 0 && eventData.Payload![type] is string name && eventData.Payload[amount] is ulong bytes)
        {
            _bytes.AddOrUpdate(name, (long)bytes, (_, total) => total + (long)bytes);
        }
    }
}
