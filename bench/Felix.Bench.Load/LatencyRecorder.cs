namespace Felix.Bench.Load;

/// <summary>
/// Keeps every publish-to-receipt latency of a run (microseconds) in a preallocated array, so percentiles are exact
/// and recording is one interlocked increment. Samples past the capacity are counted but not kept.
/// </summary>
internal sealed class LatencyRecorder(int capacity)
{
    private readonly int[] _samples = new int[capacity];
    private int _count;

    /// <summary>Samples recorded, including those past the capacity.</summary>
    public int Count => Volatile.Read(ref _count);

    public void Record(long microseconds)
    {
        var index = Interlocked.Increment(ref _count) - 1;
        if (index < _samples.Length)
        {
            _samples[index] = (int)Math.Clamp(microseconds, 0, int.MaxValue);
        }
    }

    /// <summary>Nearest-rank percentiles (0 &lt; p &lt;= 100) of the kept samples, in milliseconds; NaN for no samples.</summary>
    public double[] Percentiles(params double[] percents)
    {
        var kept = Math.Min(Count, _samples.Length);
        var sorted = _samples.AsSpan(0, kept).ToArray();
        Array.Sort(sorted);
        return percents.Select(p => kept == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * kept) - 1, 0, kept - 1)] / 1000.0).ToArray();
    }
}
