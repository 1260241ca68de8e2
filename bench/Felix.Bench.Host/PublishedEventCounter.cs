using System.Diagnostics.Metrics;
using Felix.Server.Observability;

namespace Felix.Bench.Host;

/// <summary>
/// Events published since start, read from the server's own <c>felix.events.published</c> counter, so the product keeps
/// no count of its own for the benchmark on its publish path.
/// </summary>
internal sealed class PublishedEventCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _published;

    public PublishedEventCounter(FelixMetrics metrics)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == metrics.Meter && instrument.Name == "felix.events.published")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _published, value));
        _listener.Start();
    }

    public long Published => Interlocked.Read(ref _published);

    public void Dispose() => _listener.Dispose();
}
