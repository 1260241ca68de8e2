using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Felix.Tests.Streaming;

public sealed class EventSubscriptionTests
{
    private const string WorkflowId = "wf_0000beef";

    [Fact]
    public async Task LiveEventsAlreadyReplayedFromHistoryAreDropped()
    {
        var log = new InMemoryEventLog(Options.Create(new StreamingOptions()));
        var first = new WorkflowStatusEvent { WorkflowId = WorkflowId, Status = WorkflowStatuses.Running };
        var last = new WorkflowErrorEvent { WorkflowId = WorkflowId, Error = "done" };
        await log.AppendAsync(first);
        using var subscription = new EventSubscription(WorkflowId, log, 16, 100, _ => { }) { HistoryEnd = 1 };

        // The subscriber listened before it read the state, so the first event reaches it both ways.
        subscription.Deliver(new PublishedEvent(first));
        await log.AppendAsync(last);
        subscription.Deliver(new PublishedEvent(last));

        var sequences = new List<long>();
        await foreach (var published in subscription.ReadAllAsync().WithCancellation(new CancellationTokenSource(TestTimeouts.Default).Token))
        {
            sequences.Add(published.Event.Sequence);
        }

        Assert.Equal([1L, 2L], sequences);
    }

    [Fact]
    public async Task AWaitingReaderStopsWhenItsTokenIsCancelledAndLaterEventsDoNotCountAsFallingBehind()
    {
        var log = new InMemoryEventLog(Options.Create(new StreamingOptions()));
        using var subscription = new EventSubscription(WorkflowId, log, capacity: 1, 100, _ => { });
        using var stop = new CancellationTokenSource();
        var events = subscription.ReadAllAsync(stop.Token).GetAsyncEnumerator();

        var next = events.MoveNextAsync().AsTask();
        await Task.Delay(50);
        Assert.False(next.IsCompleted, "the reader did not wait for a live event");
        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.DefaultTimeout());
        // The publisher may still hold the subscription for a moment: its events go nowhere, and no drop is reported.
        Assert.True(subscription.Deliver(new PublishedEvent(new WorkflowStatusEvent { WorkflowId = WorkflowId, Sequence = 1 })));
        Assert.True(subscription.Deliver(new PublishedEvent(new WorkflowStatusEvent { WorkflowId = WorkflowId, Sequence = 2 })));
    }

    [Fact]
    public async Task DisposingEndsAWaitingReaderAndLaterEventsDoNotCountAsFallingBehind()
    {
        var log = new InMemoryEventLog(Options.Create(new StreamingOptions()));
        var released = 0;
        var subscription = new EventSubscription(WorkflowId, log, capacity: 1, 100, _ => released++);
        var events = subscription.ReadAllAsync().GetAsyncEnumerator();
        var next = events.MoveNextAsync().AsTask();

        subscription.Dispose();

        Assert.False(await next.DefaultTimeout());
        Assert.Equal(1, released);
        // The publisher may still hold the subscription for a moment: its events go nowhere, and no drop is reported.
        Assert.True(subscription.Deliver(new PublishedEvent(new WorkflowStatusEvent { WorkflowId = WorkflowId, Sequence = 1 })));
        Assert.True(subscription.Deliver(new PublishedEvent(new WorkflowStatusEvent { WorkflowId = WorkflowId, Sequence = 2 })));
    }

    [Fact]
    public async Task ASubscriberThatKeepsReadingIsNeverCutOffHoweverManyEventsPass()
    {
        // The capacity bounds what waits in the queue, not what went through it: each event read makes room again.
        var log = new InMemoryEventLog(Options.Create(new StreamingOptions()));
        using var subscription = new EventSubscription(WorkflowId, log, capacity: 2, 100, _ => { });
        using var stop = new CancellationTokenSource(TestTimeouts.Default);
        var events = subscription.ReadAllAsync(stop.Token).GetAsyncEnumerator();

        for (var sequence = 1; sequence <= 10; sequence++)
        {
            Assert.True(subscription.Deliver(new PublishedEvent(new WorkflowStatusEvent { WorkflowId = WorkflowId, Sequence = sequence })), $"event {sequence} was refused");
            Assert.True(await events.MoveNextAsync());
            Assert.Equal(sequence, events.Current.Event.Sequence);
        }

        await events.DisposeAsync();
    }

    [Fact]
    public async Task ASubscriberPastItsCapacityIsCutOff()
    {
        var log = new InMemoryEventLog(Options.Create(new StreamingOptions()));
        using var subscription = new EventSubscription(WorkflowId, log, capacity: 1, 100, _ => { });

        Assert.True(subscription.Deliver(new PublishedEvent(new WorkflowStatusEvent { WorkflowId = WorkflowId, Sequence = 1 })));
        Assert.False(subscription.Deliver(new PublishedEvent(new WorkflowStatusEvent { WorkflowId = WorkflowId, Sequence = 2 })));

        var events = subscription.ReadAllAsync().GetAsyncEnumerator();
        Assert.True(await events.MoveNextAsync().AsTask().DefaultTimeout());
        await Assert.ThrowsAsync<SlowConsumerException>(() => events.MoveNextAsync().AsTask().DefaultTimeout());
    }

    [Fact]
    public void LookingForLiveEventsWhileNoneWaitDoesNotLoosenTheBound()
    {
        // A reader that looks at an empty queue (as every reader does before each wait) makes no room: the bound counts
        // only what waits.
        var log = new InMemoryEventLog(Options.Create(new StreamingOptions()));
        using var subscription = new EventSubscription(WorkflowId, log, capacity: 2, 100, _ => { });
        for (var i = 0; i < 3; i++)
        {
            Assert.False(subscription.TryReadNextLive(out _));
        }

        Assert.True(subscription.Deliver(new PublishedEvent(new WorkflowStatusEvent { WorkflowId = WorkflowId, Sequence = 1 })));
        Assert.True(subscription.Deliver(new PublishedEvent(new WorkflowStatusEvent { WorkflowId = WorkflowId, Sequence = 2 })));
        Assert.False(subscription.Deliver(new PublishedEvent(new WorkflowStatusEvent { WorkflowId = WorkflowId, Sequence = 3 })));
    }
}
