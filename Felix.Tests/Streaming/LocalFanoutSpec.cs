using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Observability;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Felix.Tests.Streaming;

/// <summary>
/// The fan-out of one node with events another node published: every listener (a hub group and a subscription) gets
/// each event once and in order, when a publish is lost on the way, repeated, or overtaken by a join. Every event log
/// backend inherits these facts, since the fan-out reads its gaps and joins from whichever log the deployment has.
/// </summary>
public abstract partial class LocalFanoutSpec : IAsyncLifetime
{
    private const string WorkflowId = "wf_0000beef";

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly RecordingSink _group = new();
    private FelixMetrics _metrics = null!;
    private IEventLog _log = null!;
    private LocalFanout _fanout = null!;

    /// <summary>A fresh, empty log of the backend under test.</summary>
    private protected abstract Task<IEventLog> CreateEventLogAsync();

    public virtual async Task InitializeAsync()
    {
        _log = await CreateEventLogAsync();
        _metrics = new FelixMetrics(_services.GetRequiredService<IMeterFactory>());
        _fanout = CreateFanout(_log, [_group]);
    }

    /// <summary>A fan-out of this test's metrics over <paramref name="log"/>; the spec's own is over the backend's log.</summary>
    private LocalFanout CreateFanout(
        IEventLog log, IEventSink[] sinks, StreamingOptions? options = null, ILogger<LocalFanout>? logger = null, TimeProvider? time = null) =>
        new(log, sinks, Options.Create(options ?? new StreamingOptions()), time ?? TimeProvider.System, _metrics, logger ?? NullLogger<LocalFanout>.Instance);

    public virtual Task DisposeAsync()
    {
        _services.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Appends as another node would: to the shared log only.</summary>
    private async Task<WorkflowEvent> AppendElsewhereAsync(bool terminal = false)
    {
        WorkflowEvent evt = terminal
            ? new WorkflowCompleteEvent { WorkflowId = WorkflowId }
            : new WorkflowStatusEvent { WorkflowId = WorkflowId, Status = WorkflowStatuses.Running };
        await _log.AppendAsync(evt);
        return evt;
    }

    private static async Task<List<long>> ReadToEndAsync(EventSubscription subscription)
    {
        var sequences = new List<long>();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        await foreach (var published in subscription.ReadAllAsync(timeout.Token))
        {
            sequences.Add(published.Event.Sequence);
        }

        return sequences;
    }

    [Fact]
    public async Task ARemoteEventAfterALostOneReachesEveryListenerAfterTheMissingOneFromTheLog()
    {
        var first = await AppendElsewhereAsync();
        using var subscription = await _fanout.SubscribeAsync(WorkflowId, null, null);
        await _fanout.JoinAsync(WorkflowId, () => Task.CompletedTask);

        var lost = await AppendElsewhereAsync();
        var next = await AppendElsewhereAsync();
        var last = await AppendElsewhereAsync(terminal: true);
        await _fanout.DeliverRemoteAsync(next);
        await _fanout.DeliverRemoteAsync(last);

        Assert.Equal([2L, 3L, 4L], _group.Sequences);
        Assert.Equal([first.Sequence, lost.Sequence, next.Sequence, last.Sequence], await ReadToEndAsync(subscription));
    }

    [Fact]
    public async Task ARemoteEventThatCameTwiceOrWasAlreadyInTheHistoryIsDeliveredOnce()
    {
        var first = await AppendElsewhereAsync();
        using var subscription = await _fanout.SubscribeAsync(WorkflowId, null, null);

        // The first was in the history the subscriber read; the second comes through the feed twice.
        await _fanout.DeliverRemoteAsync(first);
        var second = await AppendElsewhereAsync(terminal: true);
        await _fanout.DeliverRemoteAsync(second);
        await _fanout.DeliverRemoteAsync(second);

        Assert.Equal([2L], _group.Sequences);
        Assert.Equal([1L, 2L], await ReadToEndAsync(subscription));
    }

    [Fact]
    public async Task AJoinThatFindsTheLogAheadGivesTheListenersAlreadyThereTheDifferenceFirst()
    {
        await AppendElsewhereAsync();
        using var early = await _fanout.SubscribeAsync(WorkflowId, null, null);

        // Appended elsewhere, its publish still on the way when a second listener joins and reads it from the history.
        var inFlight = await AppendElsewhereAsync();
        using var late = await _fanout.SubscribeAsync(WorkflowId, null, null);
        await _fanout.DeliverRemoteAsync(inFlight);
        var last = await AppendElsewhereAsync(terminal: true);
        await _fanout.DeliverRemoteAsync(last);

        Assert.Equal([2L, 3L], _group.Sequences);
        Assert.Equal(2, late.HistoryEnd);
        Assert.Equal([1L, 2L, 3L], await ReadToEndAsync(early));
        Assert.Equal([1L, 2L, 3L], await ReadToEndAsync(late));
    }

    [Fact]
    public async Task AQuietStreamWhoseTerminalPublishWasLostGetsItFromTheLog()
    {
        await AppendElsewhereAsync();
        using var subscription = await _fanout.SubscribeAsync(WorkflowId, null, null);
        await AppendElsewhereAsync(terminal: true);

        // A minute, not a second: a pause of the machine (a collection, a slow Redis round trip) must not make it quiet.
        await _fanout.CatchUpQuietStreamsAsync(TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Empty(_group.Sequences); // not quiet for long enough yet

        await Task.Delay(TimeSpan.FromMilliseconds(20));
        await _fanout.CatchUpQuietStreamsAsync(TimeSpan.FromMilliseconds(10), CancellationToken.None);

        Assert.Equal([2L], _group.Sequences);
        Assert.Equal([1L, 2L], await ReadToEndAsync(subscription));
    }

    [Fact]
    public async Task EventsOfAWorkflowNobodyHereListensToAreIgnored()
    {
        var evt = await AppendElsewhereAsync();

        await _fanout.DeliverRemoteAsync(evt);
        await _fanout.CatchUpQuietStreamsAsync(TimeSpan.Zero, CancellationToken.None);

        Assert.Empty(_group.Sequences);
    }

    /// <summary>What <see cref="EventPublisher"/> does on this node: the append, then this node's delivery, as one step.</summary>
    private ValueTask<WorkflowEvent> PublishHereAsync(WorkflowEvent evt, LocalFanout? fanout = null) =>
        (fanout ?? _fanout).PublishAsync(evt.WorkflowId, static async s =>
        {
            await s.Log.AppendAsync(s.Event);
            return s.Event;
        }, (Log: _log, Event: evt), CancellationToken.None);

    [Fact]
    public async Task AnEventPublishedHereAfterAnAppendWhoseReplyWasLostReachesEveryListenerAfterTheLostOne()
    {
        // The storage applied an append and then failed before replying (a Redis killed after its AOF write): the run saw
        // a failure, paused, and its next publish here lands one past an event no listener was given.
        await PublishHereAsync(new WorkflowStatusEvent { WorkflowId = WorkflowId, Status = WorkflowStatuses.Running });
        using var subscription = await _fanout.SubscribeAsync(WorkflowId, null, null);
        await _fanout.JoinAsync(WorkflowId, () => Task.CompletedTask);
        await AppendElsewhereAsync();

        await PublishHereAsync(new WorkflowStatusEvent { WorkflowId = WorkflowId, Status = WorkflowStatuses.Running });
        await PublishHereAsync(new WorkflowCompleteEvent { WorkflowId = WorkflowId });

        Assert.Equal([1L, 2L, 3L, 4L], _group.Sequences);
        Assert.Equal([1L, 2L, 3L, 4L], await ReadToEndAsync(subscription));
    }

    [Fact]
    public async Task AWorkflowLostWithStorageEndsItsSubscriptionsAndTellsTheGroupOnceAfterItsEvents()
    {
        await PublishHereAsync(new WorkflowStatusEvent { WorkflowId = WorkflowId, Status = WorkflowStatuses.Running });
        using var subscription = await _fanout.SubscribeAsync(WorkflowId, null, null);
        var epoch = subscription.Epoch;

        await _fanout.EndLostAsync(WorkflowId);
        await _fanout.EndLostAsync(WorkflowId);

        Assert.Equal([(WorkflowId, epoch)], _group.Lost);
        Assert.NotEmpty(epoch);
        await Assert.ThrowsAsync<StreamLostException>(() => ReadToEndAsync(subscription));
    }

    [Fact]
    public async Task AStreamPublishedHereThenRunElsewhereIsStillCaughtUpWhenQuiet()
    {
        // Created here (its first event published by this node), then run by another node whose terminal publish is lost.
        await PublishHereAsync(new WorkflowStatusEvent { WorkflowId = WorkflowId, Status = WorkflowStatuses.Pending });
        using var subscription = await _fanout.SubscribeAsync(WorkflowId, null, null);
        await _fanout.DeliverRemoteAsync(await AppendElsewhereAsync());
        await AppendElsewhereAsync(terminal: true);

        await Task.Delay(TimeSpan.FromMilliseconds(20));
        await _fanout.CatchUpQuietStreamsAsync(TimeSpan.FromMilliseconds(10), CancellationToken.None);

        Assert.Equal([1L, 2L, 3L], _group.Sequences);
        Assert.Equal([1L, 2L, 3L], await ReadToEndAsync(subscription));
    }

    [Fact]
    public async Task AStreamPublishedHereToItsEndKeepsNoChannel()
    {
        foreach (var terminal in new[] { false, true })
        {
            await PublishHereAsync(terminal
                ? new WorkflowCompleteEvent { WorkflowId = WorkflowId }
                : new WorkflowStatusEvent { WorkflowId = WorkflowId, Status = WorkflowStatuses.Running });
        }

        Assert.Equal([1L, 2L], _group.Sequences);
        Assert.Equal(0, _fanout.StreamCount);
    }

    [Fact]
    public async Task AStreamThatEndsElsewhereKeepsNoChannelOnceItsGroupHadTheEnd()
    {
        await _fanout.JoinAsync(WorkflowId, () => Task.CompletedTask);

        await _fanout.DeliverRemoteAsync(await AppendElsewhereAsync());
        Assert.Equal(1, _fanout.StreamCount);
        await _fanout.DeliverRemoteAsync(await AppendElsewhereAsync(terminal: true));

        Assert.Equal([1L, 2L], _group.Sequences);
        Assert.Equal(0, _fanout.StreamCount);
    }

    [Fact]
    public async Task ALateSubscriberThatReadsTheEndFromHistoryLetsGoOfTheChannelWhenDone()
    {
        await AppendElsewhereAsync();
        await AppendElsewhereAsync(terminal: true);

        var subscription = await _fanout.SubscribeAsync(WorkflowId, null, null);
        Assert.Equal([1L, 2L], await ReadToEndAsync(subscription));
        Assert.Equal(1, _fanout.StreamCount); // still listened to
        subscription.Dispose();

        Assert.Equal(0, _fanout.StreamCount);
    }

    [Fact]
    public async Task ALateSubscriberThatLeavesBeforeReadingTheEndLetsGoOfTheChannel()
    {
        // A dashboard that opens a finished workflow and closes it after the first screenful, or a socket that drops.
        await AppendElsewhereAsync();
        await AppendElsewhereAsync(terminal: true);

        var subscription = await _fanout.SubscribeAsync(WorkflowId, null, null);
        await using (var events = subscription.ReadAllAsync().GetAsyncEnumerator())
        {
            Assert.True(await events.MoveNextAsync().AsTask().DefaultTimeout());
            Assert.False(events.Current.Event.IsTerminal);
        }

        subscription.Dispose();

        Assert.Equal(0, _fanout.StreamCount);
    }

    [Fact]
    public async Task TwoLateSubscribersThatBothReadTheEndLetGoOfTheChannelOnceBothAreDone()
    {
        await AppendElsewhereAsync();
        await AppendElsewhereAsync(terminal: true);

        var first = await _fanout.SubscribeAsync(WorkflowId, null, null);
        var second = await _fanout.SubscribeAsync(WorkflowId, null, null);
        Assert.Equal([1L, 2L], await ReadToEndAsync(first));
        Assert.Equal([1L, 2L], await ReadToEndAsync(second));
        first.Dispose();
        Assert.Equal(1, _fanout.StreamCount); // the second still listens
        second.Dispose();

        Assert.Equal(0, _fanout.StreamCount);
    }

    [Fact]
    public async Task ASubscriberResumingRightAfterTheEndGetsNothingAndLetsGoOfTheChannel()
    {
        await AppendElsewhereAsync();
        var last = await AppendElsewhereAsync(terminal: true);

        var subscription = await _fanout.SubscribeAsync(WorkflowId, last.Epoch, last.Sequence);
        Assert.Empty(await ReadToEndAsync(subscription));
        subscription.Dispose();

        Assert.Equal(0, _fanout.StreamCount);
    }

    [Fact]
    public async Task AGroupThatJoinsAFinishedStreamKeepsNoChannel()
    {
        // A hub's Subscribe to a workflow whose terminal event is already in the log: the join finds the end there, so
        // no channel outlives it, even when the call ends (its caller went away) before the hub has read the history.
        await AppendElsewhereAsync();
        await AppendElsewhereAsync(terminal: true);
        _fanout.ForgetFinished(WorkflowId); // no channel yet: nothing to forget, and none is made
        Assert.Equal(0, _fanout.StreamCount);

        var state = await _fanout.JoinAsync(WorkflowId, () => Task.CompletedTask);
        Assert.Equal(2, state!.Value.LastSequence);
        Assert.Equal(0, _fanout.StreamCount);
        _fanout.ForgetFinished(WorkflowId);

        Assert.Equal(0, _fanout.StreamCount);
        Assert.Empty(_group.Sequences);
    }

    [Fact]
    public async Task AFinishedStreamForgottenWhileASubscriberStillReadsKeepsItsChannelUntilThatSubscriberIsDone()
    {
        await AppendElsewhereAsync();
        var subscription = await _fanout.SubscribeAsync(WorkflowId, null, null);
        await AppendElsewhereAsync(terminal: true);

        _fanout.ForgetFinished(WorkflowId);
        Assert.Equal(1, _fanout.StreamCount); // still listened to
        subscription.Dispose();

        Assert.Equal(0, _fanout.StreamCount);
    }

    private sealed class RecordingSink : IEventSink
    {
        private readonly ConcurrentQueue<long> _sequences = new();

        private readonly ConcurrentQueue<(string WorkflowId, string Epoch)> _lost = new();

        public long[] Sequences => [.. _sequences];

        public (string WorkflowId, string Epoch)[] Lost => [.. _lost];

        public ValueTask DeliverAsync(PublishedEvent evt, CancellationToken cancellationToken)
        {
            _sequences.Enqueue(evt.Event.Sequence);
            return ValueTask.CompletedTask;
        }

        public ValueTask LoseAsync(string workflowId, string epoch)
        {
            _lost.Enqueue((workflowId, epoch));
            return ValueTask.CompletedTask;
        }
    }
}

public sealed class InMemoryLocalFanoutTests : LocalFanoutSpec
{
    private protected override Task<IEventLog> CreateEventLogAsync() =>
        Task.FromResult<IEventLog>(new InMemoryEventLog(Options.Create(new StreamingOptions())));
}
