using System.Diagnostics;

namespace Felix.Bench.Load;

/// <summary>The measured window of a paced run: its start on both clocks, and every publish-to-receipt latency in it.</summary>
internal sealed class PacedWindow(int latencyCapacity)
{
    public LatencyRecorder Latencies { get; } = new(latencyCapacity);

    /// <summary>UTC ticks at the start, the clock of the events' timestamps.</summary>
    public long StartTicks { get; } = DateTime.UtcNow.Ticks;

    public Stopwatch Clock { get; } = Stopwatch.StartNew();
}
