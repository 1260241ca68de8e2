using System.Diagnostics.Metrics;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Observability;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Felix.Tests.Streaming;

/// <summary>The publisher on the real fan-out and in-memory log: what it stamps, what it counts, what it hands on.</summary>
public sealed class EventPublisherTests : IDisposable
{
    private const string WorkflowId = "wf_0000beef";

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 4, 0, 0, TimeSpan.Zero).AddTicks(1234567));
    private readonly List<long> _delivered = [];

    public void Dispose() => _services.Dispose();

    private (EventPublisher Publisher, FelixMetrics Metrics) Create(IEventLog log)
    {
        var metrics = new FelixMetrics(_services.GetRequiredService<IMeterFactory>());
        var fanout = new LocalFanout(
            log, [new RecordingSink(_delivered)], Options.Create(new StreamingOptions()), _time, metrics, NullLogger<LocalFanout>.Instance);
        return (new EventPublisher(log, fanout, _time, metrics), metrics);
    }

    [Fact]
    public async Task EachPublishedEventIsStampedAppendedHandedOnAndCountedOnce()
    {
        var log = new InMemoryEventLog(Options.Create(new StreamingOptions()));
        var (publisher, metrics) = Create(log);
        using var published = new InstrumentRecorder(metrics.Meter, "felix.events.published");
        var fanoutDurations = new List<double>();
        using var durations = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter == metrics.Meter && instrument.Name == "felix.events.fanout.duration")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        durations.SetMeasurementEventCallback<double>((_, value, _, _) => fanoutDurations.Add(value));
        durations.Start();

        var first = await publisher.PublishAsync(new WorkflowStatusEvent { WorkflowId = WorkflowId, Status = WorkflowStatuses.Running });
        _time.Advance(TimeSpan.FromSeconds(2));
        var second = await publisher.PublishAsync(new WorkflowCompleteEvent { WorkflowId = WorkflowId });

        Assert.Equal((1L, "2026-12-06T04:00:00.123456Z"), (first.Sequence, first.Timestamp));
        Assert.Equal((2L, "2026-12-06T04:00:02.123456Z"), (second.Sequence, second.Timestamp));
        Assert.Equal([1L, 2L], _delivered);
        Assert.Equal(2, (await log.ReadAsync(WorkflowId, 0, 10)).Events.Count);
        Assert.Equal(2, published.Total);
        Assert.Equal([0.0, 0.0], fanoutDurations); // one each, on a clock that did not move while it was handed on
    }

    [Fact]
    public async Task AnEventWhoseAppendFailsIsNeitherHandedOnNorCounted()
    {
        var (publisher, metrics) = Create(new FailingAppendsEventLog());
        using var published = new InstrumentRecorder(metrics.Meter, "felix.events.published");

        await Assert.ThrowsAsync<IOException>(
            () => publisher.PublishAsync(new WorkflowStatusEvent { WorkflowId = WorkflowId, Status = WorkflowStatuses.Running }).AsTask());

        Assert.Empty(_delivered);
        Assert.Equal(0, published.Total);
    }

    private sealed class RecordingSink(List<long> delivered) : IEventSink
    {
        public ValueTask DeliverAsync(PublishedEvent evt, CancellationToken cancellationToken)
        {
            delivered.Add(evt.Event.Sequence);
            return ValueTask.CompletedTask;
        }

        public ValueTask LoseAsync(string workflowId, string epoch) => ValueTask.CompletedTask;
    }

    private sealed class FailingAppendsEventLog : IEventLog
    {
        public ValueTask AppendAsync(WorkflowEvent evt, long fence = 0, CancellationToken cancellationToken = default) =>
            ValueTask.FromException(new IOException("the disk is full"));

        public ValueTask<StreamState?> GetStateAsync(string workflowId, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<StreamState?>(null);

        public ValueTask<HistoryPage> ReadAsync(string workflowId, long afterSequence, int limit, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();
    }
}
