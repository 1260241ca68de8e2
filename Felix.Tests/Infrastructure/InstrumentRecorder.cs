using System.Diagnostics.Metrics;

namespace Felix.Tests.Infrastructure;

/// <summary>Records one instrument of one meter while it lives: the sum and the largest of its measurements.</summary>
internal sealed class InstrumentRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
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
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
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

    public void Dispose() => _listener.Dispose();
}
