using System.Threading.Channels;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Felix.Tests.Streaming;

/// <summary>
/// The system event bus: a published event is stamped, handed to every sink and listener, then forwarded to the other
/// nodes; one from another node is delivered here only; a listener that stops is let go, and one that falls a whole
/// buffer behind is ended as a slow consumer without holding the others back. <c>Hubs/SystemHubTests</c> and the raw
/// system stream's tests drive it through the transports.
/// </summary>
public sealed class SystemEventBusTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 21, 30, 15, TimeSpan.Zero).AddTicks(1234567));
    private readonly List<string> _seen = [];

    [Fact]
    public async Task APublishedEventIsStampedDeliveredToEachSinkAndListenerThenForwarded()
    {
        var bus = new SystemEventBus([new Sink("sink 1", _seen), new Sink("sink 2", _seen)], _time, new Forwarder(_seen));
        using var stop = new CancellationTokenSource();
        var listener = bus.Listen(stop.Token);

        var evt = Event("wf_1");
        await bus.PublishAsync(evt);

        Assert.Equal("2026-12-05T21:30:15.123456Z", evt.Timestamp);
        Assert.Equal(["sink 1 wf_1", "sink 2 wf_1", "forwarded wf_1"], _seen);
        Assert.True(listener.TryRead(out var read));
        Assert.Same(evt, read);
    }

    [Fact]
    public async Task AnEventFromAnotherNodeIsDeliveredHereAsItCameAndNotForwardedAgain()
    {
        var bus = new SystemEventBus([new Sink("sink", _seen)], _time, new Forwarder(_seen));
        using var stop = new CancellationTokenSource();
        var listener = bus.Listen(stop.Token);

        var evt = Event("wf_2");
        evt.Timestamp = "2026-12-05T20:00:00.000000Z";
        await bus.DeliverFromOtherNodeAsync(evt);

        Assert.Equal(["sink wf_2"], _seen);
        Assert.Equal("2026-12-05T20:00:00.000000Z", evt.Timestamp);
        Assert.True(listener.TryRead(out var read));
        Assert.Same(evt, read);
    }

    [Fact]
    public async Task AListenerWhoseTokenIsCancelledIsCompletedAndGetsNothingMore()
    {
        var bus = new SystemEventBus([], _time);
        using var stop = new CancellationTokenSource();
        using var other = new CancellationTokenSource();
        var stopped = bus.Listen(stop.Token);
        var staying = bus.Listen(other.Token);

        await bus.PublishAsync(Event("wf_1"));
        await stop.CancelAsync();
        await bus.PublishAsync(Event("wf_2"));

        Assert.Equal(["wf_1"], await ReadAllAsync(stopped));
        Assert.True(stopped.Completion.IsCompletedSuccessfully);
        Assert.True(staying.TryRead(out var first));
        Assert.True(staying.TryRead(out var second));
        Assert.Equal("wf_1", first.WorkflowId);
        Assert.Equal("wf_2", second.WorkflowId);
        await other.CancelAsync();
    }

    [Fact]
    public async Task AListenerAWholeBufferBehindIsEndedAsASlowConsumerAndTheOthersGoOn()
    {
        var bus = new SystemEventBus([], _time);
        using var stop = new CancellationTokenSource();
        var slow = bus.Listen(stop.Token);
        var reader = bus.Listen(stop.Token);

        // The reader keeps up; the slow listener reads nothing. Its buffer holds exactly Capacity events.
        var read = new List<string?>();
        for (var i = 1; i <= SystemEventBus.Capacity + 2; i++)
        {
            await bus.PublishAsync(Event($"wf_{i}"));
            Assert.True(reader.TryRead(out var evt));
            read.Add(evt.WorkflowId);
            if (i == SystemEventBus.Capacity)
            {
                Assert.False(slow.Completion.IsCompleted, "a listener with a full buffer was ended before it missed anything");
            }
        }

        Assert.Equal(Enumerable.Range(1, SystemEventBus.Capacity + 2).Select(i => $"wf_{i}"), read);
        var kept = await ReadAllAsync(slow, expectSlowConsumer: true);
        Assert.Equal(Enumerable.Range(1, SystemEventBus.Capacity).Select(i => $"wf_{i}"), kept);
    }

    private static SystemEvent Event(string workflowId) =>
        new() { Type = SystemEvent.WorkflowStatusChanged, WorkflowId = workflowId, Status = WorkflowStatuses.Running };

    private static async Task<List<string?>> ReadAllAsync(ChannelReader<SystemEvent> reader, bool expectSlowConsumer = false)
    {
        var ids = new List<string?>();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        try
        {
            await foreach (var evt in reader.ReadAllAsync(timeout.Token))
            {
                ids.Add(evt.WorkflowId);
            }

            Assert.False(expectSlowConsumer, "the listener ended without a slow-consumer error");
        }
        catch (SlowConsumerException) when (expectSlowConsumer)
        {
        }

        return ids;
    }

    private sealed class Sink(string name, List<string> seen) : ISystemEventSink
    {
        public ValueTask DeliverAsync(SystemEvent evt)
        {
            seen.Add($"{name} {evt.WorkflowId}");
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Forwarder(List<string> seen) : ISystemEventForwarder
    {
        public ValueTask ForwardAsync(SystemEvent evt)
        {
            seen.Add($"forwarded {evt.WorkflowId}");
            return ValueTask.CompletedTask;
        }
    }
}
