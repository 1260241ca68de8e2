using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Felix.Tests.Infrastructure;

/// <summary>
/// Records one instrument of one meter while it lives: the sum and the largest of its measurements, and the sum per
/// value of each tag.
/// </summary>
internal sealed class InstrumentRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(string Tag, string? Value), long> _byTag = new();
    private long _total;
    private long _max;

    public InstrumentRecorder(Meter meter, string instrumentName)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == meter && instrument.Name == instrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                _byTag.AddOrUpdate((tag.Key, tag.Value?.ToString()), value, (_, sum) => sum + value);
            }

            Interlocked.Add(ref _total, value);
            long seen;
            while (value > (seen = Interlocked.Read(ref _max)) && Interlocked.CompareExchange(ref _max, value, seen) != seen)
            {
            }
        });
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public long Max => Interlocked.Read(ref _max);

    /// <summary>The sum of the measurements made with <paramref name="tag"/> set to <paramref name="value"/>.</summary>
    public long TotalWith(string tag, string value) => _byTag.TryGetValue((tag, value), out var sum) ? sum : 0;

    public void Dispose() => _listener.Dispose();
}
