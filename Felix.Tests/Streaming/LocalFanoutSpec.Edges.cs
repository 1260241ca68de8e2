using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Felix.Tests.Streaming;

/// <summary>
/// The fan-out's edges: a join that fails, an end that comes after the stream was forgotten, a log behind its feed or
/// that cannot be read, a transport that fails, a subscriber that falls behind. What the listeners get, what the node
/// keeps, and what the operator sees (the drop and gap counters, the log).
/// </summary>
public abstract partial class LocalFanoutSpec
{
    [Fact]
    public async Task AJoinThatFailsAfterCatchingUpToTheEndLetsGoOfTheChannel()
    {
        await AppendElsewhereAsync();
        await _fanout.JoinAsync(WorkflowId, () => Task.CompletedTask);
        // The end was appended elsewhere; its publish has not come through the feed when a second join fails.
        await AppendElsewhereAsync(terminal: true);

        await Assert.ThrowsAsync<InvalidOperationException>(
            () => _fanout.JoinAsync(WorkflowId, () => throw new InvalidOperationException("the connection went away")));

        Assert.Equal([2L], _group.Sequences); // the group already there had the end from the log
        Assert.Equal(0, _fanout.StreamCount);
    }

    [Fact]
    public async Task AnEndDeliveredAfterTheStreamWasForgottenStillLetsGoOfTheChannelWhenItsSubscriberLeaves()
    {
        await AppendElsewhereAsync();
        var subscription = await _fanout.SubscribeAsync(WorkflowId, null, null);
        var last = await AppendElsewhereAsync(terminal: true);

        // The end is in the log and the stream is forgotten before the end's publish comes through the feed.
        _fanout.ForgetFinished(WorkflowId);
        await _fanout.DeliverRemoteAsync(last);
        Assert.Equal([2L], _group.Sequences);
        Assert.Equal(1, _fanout.StreamCount); // still listened to

        subscription.Dispose(); // gone without reading the end
        Assert.Equal(0, _fanout.StreamCount);
    }

    [Fact]
    public async Task ASubscriberThatGoesAwayDuringItsJoinLeavesNoChannelBehind()
    {
        await AppendElsewhereAsync();
        await AppendElsewhereAsync(terminal: true); // a stream that ended long ago: no event will come to let go of it
        var log = new StateReadHeldEventLog(_log);
        var fanout = CreateFanout(log, [_group]);
        using var gone = new CancellationTokenSource();

        var join = fanout.SubscribeAsync(WorkflowId, null, null, gone.Token);
        await log.Entered;
        gone.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => join);
        Assert.Equal(0, fanout.StreamCount);
        using var next = await fanout.SubscribeAsync(WorkflowId, null, null);
        Assert.Equal([1L, 2L], await ReadToEndAsync(next));
    }

    [Fact]
    public async Task ASubscriberGoneBeforeItsTurnLeavesNoChannelBehind()
    {
        await AppendElsewhereAsync(terminal: true);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => _fanout.SubscribeAsync(WorkflowId, null, null, new CancellationToken(canceled: true)));

        Assert.Equal(0, _fanout.StreamCount);
    }

    [Fact]
    public async Task WhoeverWaitedBehindAJoinThatLeftNothingMeetsOnTheWorkflowsNextChannel()
    {
        await AppendElsewhereAsync();
        var log = new StateReadHeldEventLog(_log);
        var fanout = CreateFanout(log, [_group]);
        using var gone = new CancellationTokenSource();
        var join = fanout.SubscribeAsync(WorkflowId, null, null, gone.Token);
        await log.Entered;

        // A publish here and another subscriber wait for the turn the first join holds; the first one then goes away.
        var published = PublishHereAsync(new WorkflowStatusEvent { WorkflowId = WorkflowId, Status = WorkflowStatuses.Running }, fanout).AsTask();
        var joined = fanout.SubscribeAsync(WorkflowId, null, null);
        gone.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => join);
        await published.DefaultTimeout();
        using var subscription = await joined.DefaultTimeout();
        await PublishHereAsync(new WorkflowCompleteEvent { WorkflowId = WorkflowId }, fanout);

        Assert.Equal([2L, 3L], _group.Sequences);
        Assert.Equal([1L, 2L, 3L], await ReadToEndAsync(subscription));
    }

    [Fact]
    public async Task ARemoteEventWhoseMissingPredecessorIsNotInTheLogYetIsStillDelivered()
    {
        using var gapFilled = new InstrumentRecorder(_metrics.Meter, "felix.events.gap_filled");
        var first = await AppendElsewhereAsync();
        await _fanout.JoinAsync(WorkflowId, () => Task.CompletedTask);

        // A log behind its feed: event 3 comes through the feed while the log holds only event 1. The listeners' own
        // resume covers event 2; the fan-out does not hold event 3 back for it.
        var ahead = new WorkflowStatusEvent { WorkflowId = WorkflowId, Status = WorkflowStatuses.Running, Sequence = 3, Epoch = first.Epoch };
        await _fanout.DeliverRemoteAsync(ahead);

        Assert.Equal([3L], _group.Sequences);
        Assert.Equal(0, gapFilled.Total);

        // A listener that joins while the log is still behind does not take the channel back to the log's position:
        // event 2, late through the feed, would reach the group after event 3.
        await _fanout.JoinAsync(WorkflowId, () => Task.CompletedTask);
        await _fanout.DeliverRemoteAsync(new WorkflowStatusEvent { WorkflowId = WorkflowId, Status = WorkflowStatuses.Running, Sequence = 2, Epoch = first.Epoch });
        Assert.Equal([3L], _group.Sequences);
    }

    [Fact]
    public async Task AGapFilledFromTheLogIsCountedByTheEventsItFilled()
    {
        using var gapFilled = new InstrumentRecorder(_metrics.Meter, "felix.events.gap_filled");
        await AppendElsewhereAsync();
        await _fanout.JoinAsync(WorkflowId, () => Task.CompletedTask);

        await AppendElsewhereAsync(); // lost
        await AppendElsewhereAsync(); // lost
        await _fanout.DeliverRemoteAsync(await AppendElsewhereAsync());

        Assert.Equal([2L, 3L, 4L], _group.Sequences);
        Assert.Equal(2, gapFilled.Total);
    }

    [Fact]
    public async Task AQuietStreamWhoseLogCannotBeReadIsLoggedAndCaughtUpOnTheNextRound()
    {
        var logs = new LogCapture();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var flaky = new FailingReadsEventLog(_log);
        var fanout = CreateFanout(flaky, [_group], logger: loggers.CreateLogger<LocalFanout>());
        await AppendElsewhereAsync();
        using var subscription = await fanout.SubscribeAsync(WorkflowId, null, null);
        await AppendElsewhereAsync(terminal: true); // its publish lost

        flaky.FailReads = true;
        await fanout.CatchUpQuietStreamsAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.Empty(_group.Sequences);
        var failed = Assert.Single(logs.Entries, e => e.Category == typeof(LocalFanout).FullName);
        Assert.Equal((1002, LogLevel.Warning), (failed.EventId, failed.Level));
        Assert.IsType<IOException>(failed.Exception);

        flaky.FailReads = false;
        await fanout.CatchUpQuietStreamsAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.Equal([2L], _group.Sequences);
        Assert.Equal([1L, 2L], await ReadToEndAsync(subscription));
    }

    [Fact]
    public async Task AStreamIsCaughtUpFromTheLogOnlyOnceItWasQuietForTheWholeInterval()
    {
        var time = new FakeTimeProvider();
        var quiet = TimeSpan.FromSeconds(1);
        var fanout = CreateFanout(_log, [_group], time: time);
        await AppendElsewhereAsync();
        await fanout.JoinAsync(WorkflowId, () => Task.CompletedTask);

        // Each event below is appended elsewhere and its publish lost: only a catch-up brings it.
        await AppendElsewhereAsync();
        await fanout.CatchUpQuietStreamsAsync(quiet, CancellationToken.None);
        Assert.Empty(_group.Sequences); // joined just now

        time.Advance(quiet);
        await fanout.CatchUpQuietStreamsAsync(quiet, CancellationToken.None);
        Assert.Equal([2L], _group.Sequences); // quiet for exactly the interval

        time.Advance(quiet);
        await fanout.CatchUpQuietStreamsAsync(quiet, CancellationToken.None); // looked, found nothing new
        await AppendElsewhereAsync();
        await fanout.CatchUpQuietStreamsAsync(quiet, CancellationToken.None);
        Assert.Equal([2L], _group.Sequences); // looked at just now

        time.Advance(quiet);
        await fanout.CatchUpQuietStreamsAsync(quiet, CancellationToken.None);
        Assert.Equal([2L, 3L], _group.Sequences);

        time.Advance(quiet);
        await fanout.DeliverRemoteAsync(await AppendElsewhereAsync());
        await AppendElsewhereAsync();
        await fanout.CatchUpQuietStreamsAsync(quiet, CancellationToken.None);
        Assert.Equal([2L, 3L, 4L], _group.Sequences); // delivered to just now

        time.Advance(quiet);
        await fanout.CatchUpQuietStreamsAsync(quiet, CancellationToken.None);
        Assert.Equal([2L, 3L, 4L, 5L], _group.Sequences);
    }

    [Fact]
    public async Task AStreamPublishedHereIsNotReadBackFromTheLogWhenQuiet()
    {
        // This node published its latest event, so none can be missing here: a quiet catch-up leaves it alone.
        var logs = new LogCapture();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var unreadable = new FailingReadsEventLog(_log) { FailReads = true };
        var fanout = CreateFanout(unreadable, [_group], logger: loggers.CreateLogger<LocalFanout>());
        await PublishHereAsync(new WorkflowStatusEvent { WorkflowId = WorkflowId, Status = WorkflowStatuses.Running }, fanout);
        await fanout.JoinAsync(WorkflowId, () => Task.CompletedTask);

        await fanout.CatchUpQuietStreamsAsync(TimeSpan.Zero, CancellationToken.None);

        Assert.Equal([1L], _group.Sequences);
        Assert.DoesNotContain(logs.Entries, e => e.Category == typeof(LocalFanout).FullName);
    }

    [Fact]
    public async Task ATransportThatFailsIsLoggedAndCountedAndTheOthersStillGetTheEvent()
    {
        using var dropped = new InstrumentRecorder(_metrics.Meter, "felix.events.dropped");
        var logs = new LogCapture();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var fanout = CreateFanout(_log, [new FailingSink(), _group], logger: loggers.CreateLogger<LocalFanout>());
        await AppendElsewhereAsync();
        using var subscription = await fanout.SubscribeAsync(WorkflowId, null, null);

        await fanout.DeliverRemoteAsync(await AppendElsewhereAsync(terminal: true));

        Assert.Equal([2L], _group.Sequences);
        Assert.Equal([1L, 2L], await ReadToEndAsync(subscription));
        Assert.Equal(1, dropped.Total);
        Assert.Equal(1, dropped.TotalWith("transport", nameof(FailingSink)));
        Assert.Equal(1, dropped.TotalWith("reason", "transport_failed"));
        var failed = Assert.Single(logs.Entries, e => e.Category == typeof(LocalFanout).FullName);
        Assert.Equal((1001, LogLevel.Error), (failed.EventId, failed.Level));
        Assert.IsType<IOException>(failed.Exception);
    }

    [Fact]
    public async Task ATransportThatFailsToBeToldOfALostWorkflowIsLoggedAndTheOthersAreStillTold()
    {
        var logs = new LogCapture();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var fanout = CreateFanout(_log, [new FailingSink(), _group], logger: loggers.CreateLogger<LocalFanout>());
        await AppendElsewhereAsync();
        using var subscription = await fanout.SubscribeAsync(WorkflowId, null, null);

        await fanout.EndLostAsync(WorkflowId);

        Assert.Equal(WorkflowId, Assert.Single(_group.Lost).WorkflowId);
        await Assert.ThrowsAsync<StreamLostException>(() => ReadToEndAsync(subscription));
        var failed = Assert.Single(logs.Entries, e => e.Category == typeof(LocalFanout).FullName);
        Assert.Equal((1004, LogLevel.Error), (failed.EventId, failed.Level));
    }

    [Fact]
    public async Task EachLiveEventRefusedToASubscriberThatFellBehindIsCountedAsDropped()
    {
        using var dropped = new InstrumentRecorder(_metrics.Meter, "felix.events.dropped");
        var fanout = CreateFanout(_log, [_group], new StreamingOptions { SendQueueCapacity = 2 });
        using var subscription = await fanout.SubscribeAsync(WorkflowId, null, null);

        // Nobody reads: two events wait in the queue, the other three are refused.
        for (var i = 0; i < 5; i++)
        {
            await fanout.DeliverRemoteAsync(await AppendElsewhereAsync());
        }

        Assert.Equal([1L, 2L, 3L, 4L, 5L], _group.Sequences);
        Assert.Equal(3, dropped.Total);
        Assert.Equal(3, dropped.TotalWith("transport", "stream"));
        Assert.Equal(3, dropped.TotalWith("reason", "slow_consumer"));
    }

    private sealed class FailingSink : IEventSink
    {
        public ValueTask DeliverAsync(PublishedEvent evt, CancellationToken cancellationToken) =>
            ValueTask.FromException(new IOException("the transport is gone"));

        public ValueTask LoseAsync(string workflowId, string epoch) => ValueTask.FromException(new IOException("the transport is gone"));
    }

    /// <summary>The backend's log, whose first stream state read waits until its caller gives up.</summary>
    private sealed class StateReadHeldEventLog(IEventLog inner) : IEventLog
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _held;

        public Task Entered => _entered.Task;

        public ValueTask AppendAsync(WorkflowEvent evt, long fence = 0, CancellationToken cancellationToken = default) =>
            inner.AppendAsync(evt, fence, cancellationToken);

        public async ValueTask<StreamState?> GetStateAsync(string workflowId, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _held, 1) == 0)
            {
                _entered.TrySetResult();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return await inner.GetStateAsync(workflowId, cancellationToken);
        }

        public ValueTask<HistoryPage> ReadAsync(string workflowId, long afterSequence, int limit, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(workflowId, afterSequence, limit, cancellationToken);
    }

    /// <summary>The backend's log, whose reads fail while <see cref="FailReads"/> is set.</summary>
    private sealed class FailingReadsEventLog(IEventLog inner) : IEventLog
    {
        public bool FailReads { get; set; }

        public ValueTask AppendAsync(WorkflowEvent evt, long fence = 0, CancellationToken cancellationToken = default) =>
            inner.AppendAsync(evt, fence, cancellationToken);

        public ValueTask<StreamState?> GetStateAsync(string workflowId, CancellationToken cancellationToken = default) =>
            inner.GetStateAsync(workflowId, cancellationToken);

        public ValueTask<HistoryPage> ReadAsync(string workflowId, long afterSequence, int limit, CancellationToken cancellationToken = default) =>
            FailReads ? ValueTask.FromException<HistoryPage>(new IOException("the log is unreachable")) : inner.ReadAsync(workflowId, afterSequence, limit, cancellationToken);
    }
}
