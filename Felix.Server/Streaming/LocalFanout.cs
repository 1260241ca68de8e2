using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Felix.Contracts.Events;
using Felix.Server.Observability;
using Microsoft.Extensions.Options;

namespace Felix.Server.Streaming;

/// <summary>
/// This node's delivery of workflow events, the one path every event takes to every transport on every deployment: the
/// hub groups (through <see cref="IEventSink"/>) and the subscriptions (<c>StreamEvents</c>, raw WebSockets), one
/// workflow's events one at a time and in sequence order. Events published here arrive from <see cref="EventPublisher"/>
/// right after their append; events other nodes published arrive from the broker's node feed.
/// </summary>
/// <remarks>
/// Per workflow it keeps the last sequence its listeners were given. Every listener joins at that position (after the
/// history up to it was read), so a remote event at or before it is a duplicate and is dropped, and a remote event past the
/// next one shows a lost publish: the missing ones are read from the log first. A join that finds the log ahead of it
/// hands the difference to the listeners already there before the new one joins. So every listener of a node sees each
/// event once, in order, whichever node published it.
/// </remarks>
internal sealed partial class LocalFanout(
    IEventLog log,
    IEnumerable<IEventSink> sinks,
    IOptions<StreamingOptions> options,
    TimeProvider time,
    FelixMetrics metrics,
    ILogger<LocalFanout> logger)
{
    private readonly ConcurrentDictionary<string, StreamChannel> _channels = new(StringComparer.Ordinal);
    private readonly IEventSink[] _sinks = [.. sinks];
    private readonly StreamingOptions _options = options.Value;

    /// <summary>
    /// Runs <paramref name="publish"/> (the append) and hands its event to this node's listeners, as one step no other
    /// delivery or join of the workflow comes between. The cancellation token only stops waiting for the workflow's turn.
    /// </summary>
    /// <remarks>
    /// With a static <paramref name="publish"/> and its state, and a pooled state machine: an event's way through here
    /// allocates neither a closure nor the method's state when the append completes later (it always does on SQLite).
    /// </remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<WorkflowEvent> PublishAsync<TState>(
        string workflowId, Func<TState, ValueTask<WorkflowEvent>> publish, TState state, CancellationToken cancellationToken)
    {
        var channel = await EnterAsync(workflowId, cancellationToken);
        WorkflowEvent evt;
        try
        {
            channel.PublishedHere = true;
            evt = await publish(state);
            // An earlier append that failed here may still have been stored (its reply was lost with the storage): the
            // listeners get it from the log before this one.
            if (channel.LastDelivered is { } last && evt.Sequence > last + 1)
            {
                await CatchUpAfterLostReplyAsync(workflowId, channel, last, evt.Sequence - 1);
            }

            await DeliverAsync(channel, new PublishedEvent(evt));
        }
        finally
        {
            channel.Gate.Release();
        }

        ForgetIfDone(workflowId, channel);
        return evt;
    }

    /// <summary>
    /// An event another node published (it is in the shared log). Ignored unless this node has listeners of the workflow;
    /// fills a gap from the log first, drops a duplicate. Callers pass one workflow's events in the order they came.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask DeliverRemoteAsync(WorkflowEvent evt, CancellationToken cancellationToken = default)
    {
        if (await EnterListenedAsync(evt.WorkflowId, cancellationToken) is not { } channel)
        {
            return;
        }

        try
        {
            if (channel.LastDelivered is { } last && evt.Sequence <= last)
            {
                return;
            }

            if (channel.LastDelivered is { } before && evt.Sequence > before + 1)
            {
                await CatchUpAsync(evt.WorkflowId, channel, evt.Sequence - 1, cancellationToken);
            }

            channel.PublishedHere = false;
            await DeliverAsync(channel, new PublishedEvent(evt));
        }
        finally
        {
            channel.Gate.Release();
        }

        ForgetIfDone(evt.WorkflowId, channel);
    }

    /// <summary>
    /// Starts a subscription at a position: after <paramref name="afterSequence"/> of <paramref name="epoch"/> (when the
    /// epoch is given and differs from the stream's, or the position is no longer kept, replay starts at the oldest kept
    /// event and <see cref="EventSubscription.ReplayedFromStart"/> says so).
    /// </summary>
    public async Task<EventSubscription> SubscribeAsync(string workflowId, string? epoch, long? afterSequence, CancellationToken cancellationToken = default)
    {
        EventSubscription? subscription = null;
        var state = await JoinAsync(workflowId, channel =>
        {
            subscription = new EventSubscription(workflowId, log, _options.SendQueueCapacity, _options.ReplayPageSize, static (s, state) =>
            {
                var channel = (StreamChannel)state!;
                channel.Remove(s);
                channel.Completed |= s.SawTerminal;
                channel.Fanout.ForgetIfDone(s.WorkflowId, channel);
            }, channel);
            channel.Add(subscription);
            return Task.CompletedTask;
        }, cancellationToken);
        var start = ResumePoint.Resolve(state, epoch, afterSequence);
        subscription!.Epoch = start.Epoch;
        subscription.AfterSequence = start.AfterSequence;
        subscription.HistoryEnd = start.HistoryEnd;
        subscription.ReplayedFromStart = start.ReplayedFromStart;
        return subscription;
    }

    /// <summary>
    /// Runs <paramref name="join"/> (a hub group join) at a moment no event of the workflow is being delivered here, and
    /// returns the stream state of that moment: events up to it are in the log, events after it reach the group.
    /// </summary>
    public Task<StreamState?> JoinAsync(string workflowId, Func<Task> join, CancellationToken cancellationToken = default) =>
        JoinAsync(workflowId, _ => join(), cancellationToken);

    private async Task<StreamState?> JoinAsync(string workflowId, Func<StreamChannel, Task> join, CancellationToken cancellationToken)
    {
        var channel = await EnterAsync(workflowId, cancellationToken);
        StreamState? state;
        // A channel made for this listener, perhaps of a stream that ended long ago.
        var unknown = channel.Untouched;
        var joining = false;
        try
        {
            state = await log.GetStateAsync(workflowId, cancellationToken);
            var logged = state?.LastSequence ?? 0;
            // Events another node appended that have not come through the feed yet go to the listeners already here now;
            // the one joining has them from the history. Later copies from the feed are duplicates.
            if (channel.LastDelivered is { } last && last < logged)
            {
                await CatchUpAsync(workflowId, channel, logged, cancellationToken);
            }

            channel.LastDelivered = Math.Max(channel.LastDelivered ?? 0, logged);
            channel.Epoch ??= state?.Epoch;
            channel.LastActivity = time.GetTimestamp();
            if (unknown && logged > 0 && await EndsAtAsync(workflowId, logged, cancellationToken))
            {
                // No event will come: the channel goes with its last listener, whether or not that one reads to the end.
                channel.Completed = true;
            }

            joining = true;
            await join(channel);
        }
        catch
        {
            // A join that failed before anyone listened on a channel made for it (its client went away during the state
            // read, or storage failed) leaves nothing behind, whether or not the stream will ever end.
            if (unknown && !joining)
            {
                Retire(workflowId, channel);
            }

            ForgetIfDone(workflowId, channel);
            throw;
        }
        finally
        {
            channel.Gate.Release();
        }

        ForgetIfDone(workflowId, channel);
        return state;
    }

    private async Task<bool> EndsAtAsync(string workflowId, long sequence, CancellationToken cancellationToken)
    {
        var page = await log.ReadAsync(workflowId, sequence - 1, 1, cancellationToken);
        return page.Events is [var evt] && evt.Sequence == sequence && evt.IsTerminal;
    }

    /// <summary>
    /// Waits for the workflow's turn on its current channel, made if there is none. A channel retired while this waited is
    /// no longer the workflow's: the wait moves to the one that is.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<StreamChannel> EnterAsync(string workflowId, CancellationToken cancellationToken)
    {
        while (true)
        {
            var channel = ChannelFor(workflowId);
            try
            {
                await channel.Gate.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Gone before its turn: a channel made for this caller, on which nothing happened, goes with it.
                if (channel.Gate.Wait(0))
                {
                    if (channel.Untouched)
                    {
                        Retire(workflowId, channel);
                    }

                    channel.Gate.Release();
                }

                throw;
            }

            if (!channel.Retired)
            {
                return channel;
            }

            channel.Gate.Release();
        }
    }

    /// <summary>As <see cref="EnterAsync"/> for a workflow this node listens to; null when it listens to none.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<StreamChannel?> EnterListenedAsync(string workflowId, CancellationToken cancellationToken)
    {
        while (_channels.TryGetValue(workflowId, out var channel))
        {
            await channel.Gate.WaitAsync(cancellationToken);
            if (!channel.Retired)
            {
                return channel;
            }

            channel.Gate.Release();
        }

        return null;
    }

    /// <summary>
    /// Gate held, nobody listening on the channel and nothing delivered on it: it stops being the workflow's, and whoever
    /// waited for its turn meanwhile moves to the next one.
    /// </summary>
    private void Retire(string workflowId, StreamChannel channel)
    {
        channel.Retired = true;
        _channels.TryRemove(new KeyValuePair<string, StreamChannel>(workflowId, channel));
    }

    /// <summary>Lets go of a finished workflow's channel (its terminal event is in the log) once nobody listens on it.</summary>
    public void ForgetFinished(string workflowId)
    {
        if (_channels.TryGetValue(workflowId, out var channel))
        {
            channel.Completed = true;
            ForgetIfDone(workflowId, channel);
        }
    }

    /// <summary>
    /// Ends every listener of a workflow lost with storage (its record is gone): each subscription gets what was queued
    /// before, then <see cref="StreamLostException"/>; nothing more is delivered to them.
    /// </summary>
    public async Task EndLostAsync(string workflowId, CancellationToken cancellationToken = default)
    {
        if (await EnterListenedAsync(workflowId, cancellationToken) is not { } channel)
        {
            return;
        }

        try
        {
            await EndLostAsync(workflowId, channel);
        }
        finally
        {
            channel.Gate.Release();
        }

        ForgetIfDone(workflowId, channel);
    }

    /// <summary>Gate held.</summary>
    private async Task EndLostAsync(string workflowId, StreamChannel channel)
    {
        if (channel.Completed)
        {
            return;
        }

        channel.Completed = true;
        foreach (var subscription in channel.Subscriptions)
        {
            subscription.Lose();
        }

        foreach (var sink in _sinks)
        {
            try
            {
                await sink.LoseAsync(workflowId, channel.Epoch ?? "");
            }
            catch (Exception ex)
            {
                LogSinkLoseFailed(logger, ex, sink.GetType().Name, workflowId);
            }
        }
    }

    /// <summary>
    /// Looks in the log for every stream this node listens to on behalf of other nodes and has heard nothing of for
    /// <paramref name="quiet"/>: a lost publish followed by no other event (the terminal one, say) shows no gap otherwise,
    /// and a stream lost with storage (gone from the log, or under another epoch) would keep its listeners waiting: they
    /// are ended with <see cref="StreamLostException"/>.
    /// </summary>
    public async Task CatchUpQuietStreamsAsync(TimeSpan quiet, CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        foreach (var (workflowId, channel) in _channels)
        {
            if (channel.Completed || channel.PublishedHere || channel.LastDelivered is not { } last
                || time.GetElapsedTime(channel.LastActivity, now) < quiet || !channel.Gate.Wait(0))
            {
                continue;
            }

            if (channel.Retired)
            {
                channel.Gate.Release();
                continue;
            }

            try
            {
                channel.LastActivity = now;
                var state = await log.GetStateAsync(workflowId, cancellationToken);
                if (channel.Epoch is { Length: > 0 } epoch && state?.Epoch != epoch)
                {
                    // The stream this node's listeners were reading is gone from the log, or started again under another
                    // epoch: storage lost it (a Redis without persistence that came back empty). Nothing it had can come.
                    LogLost(logger, workflowId, epoch);
                    await EndLostAsync(workflowId, channel);
                }
                else if (state is { } current && current.LastSequence > last)
                {
                    await CatchUpAsync(workflowId, channel, current.LastSequence, cancellationToken);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogCatchUpFailed(logger, ex, workflowId, last);
            }
            finally
            {
                channel.Gate.Release();
            }

            ForgetIfDone(workflowId, channel);
        }
    }

    /// <summary>
    /// Gate held. The event that follows is stored whatever happens here, so a log that cannot be read now is logged and
    /// the event still delivered: its listeners' own resume covers the gap.
    /// </summary>
    private async Task CatchUpAfterLostReplyAsync(string workflowId, StreamChannel channel, long last, long through)
    {
        try
        {
            await CatchUpAsync(workflowId, channel, through, CancellationToken.None);
        }
        catch (Exception ex)
        {
            LogCatchUpFailed(logger, ex, workflowId, last);
        }
    }

    /// <summary>Delivers the logged events after the channel's position up to <paramref name="through"/>; gate held.</summary>
    private async Task CatchUpAsync(string workflowId, StreamChannel channel, long through, CancellationToken cancellationToken)
    {
        while (channel.LastDelivered is { } last && last < through && !channel.Completed)
        {
            var page = await log.ReadAsync(workflowId, last, (int)Math.Min(_options.ReplayPageSize, through - last), cancellationToken);
            if (page.Events.Count == 0 || page.Events[0].Sequence != last + 1)
            {
                // Not in the log (yet), or no longer kept: the listeners' own resume covers what cannot be read here.
                return;
            }

            metrics.GapFilled(page.Events.Count);
            foreach (var evt in page.Events)
            {
                await DeliverAsync(channel, new PublishedEvent(evt));
            }
        }
    }

    /// <summary>Hands one event to every transport of this node; gate held.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask DeliverAsync(StreamChannel channel, PublishedEvent published)
    {
        var started = time.GetTimestamp();
        var evt = published.Event;
        foreach (var sink in _sinks)
        {
            try
            {
                await sink.DeliverAsync(published, CancellationToken.None);
            }
            catch (Exception ex)
            {
                LogSinkFailed(logger, ex, sink.GetType().Name, evt.WorkflowId, evt.Sequence);
                metrics.Dropped(sink.GetType().Name, "transport_failed");
            }
        }

        foreach (var subscription in channel.Subscriptions)
        {
            if (!subscription.Deliver(published))
            {
                metrics.Dropped("stream", "slow_consumer");
            }
        }

        channel.LastDelivered = evt.Sequence;
        if (evt.Epoch.Length > 0)
        {
            channel.Epoch = evt.Epoch;
        }

        channel.LastActivity = started;
        channel.Completed |= evt.IsTerminal;
        metrics.FanoutDuration(time.GetElapsedTime(started));
    }

    private StreamChannel ChannelFor(string workflowId) => _channels.GetOrAdd(workflowId, static (_, fanout) => new StreamChannel(fanout), this);

    // A finished stream gets no more events, so its channel can go; a late subscriber makes a fresh one and reads history.
    private void ForgetIfDone(string workflowId, StreamChannel channel)
    {
        if (channel.Completed && channel.Subscriptions.IsEmpty)
        {
            _channels.TryRemove(new KeyValuePair<string, StreamChannel>(workflowId, channel));
        }
    }

    /// <summary>
    /// The workflows this node keeps a channel for. A finished stream that nobody listens to must not count: a channel
    /// per workflow ever run would grow the server's memory without bound.
    /// </summary>
    internal int StreamCount => _channels.Count;

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "Transport {Sink} failed to take event {Sequence} of workflow {WorkflowId}")]
    private static partial void LogSinkFailed(ILogger logger, Exception exception, string sink, string workflowId, long sequence);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Transport {Sink} failed to tell its listeners that workflow {WorkflowId} was lost")]
    private static partial void LogSinkLoseFailed(ILogger logger, Exception exception, string sink, string workflowId);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "The stream of workflow {WorkflowId} (epoch {Epoch}) is gone from the log: it was lost with storage; its listeners on this node are ended")]
    private static partial void LogLost(ILogger logger, string workflowId, string epoch);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Events of workflow {WorkflowId} after {Sequence} could not be read to fill a gap")]
    private static partial void LogCatchUpFailed(ILogger logger, Exception exception, string workflowId, long sequence);

    /// <summary>One workflow's listeners on this node and where they stand.</summary>
    private sealed class StreamChannel(LocalFanout fanout)
    {
        /// <summary>The fanout this channel belongs to, for a subscription's release without a closure per subscription.</summary>
        public LocalFanout Fanout { get; } = fanout;

        private ImmutableArray<EventSubscription> _subscriptions = [];

        /// <summary>Held while an event is delivered or a listener joins: they never interleave.</summary>
        public SemaphoreSlim Gate { get; } = new(1, 1);

        /// <summary>The last sequence this node's listeners were given (or had from the history when they joined).</summary>
        public long? LastDelivered { get; set; }

        /// <summary>The epoch of what this node's listeners were given; null before the stream had an event.</summary>
        public string? Epoch { get; set; }

        /// <summary>When the stream was last delivered to or looked at (a <see cref="TimeProvider"/> timestamp).</summary>
        public long LastActivity { get; set; }

        /// <summary>
        /// This node published the stream's latest event, so none can be missing here. A workflow created on one node and
        /// run on another turns false with the first event from the other.
        /// </summary>
        public bool PublishedHere { get; set; }

        public bool Completed { get; set; }

        /// <summary>Nothing was delivered on it and nobody joined it: no listener can be on it.</summary>
        public bool Untouched => LastDelivered is null && !PublishedHere;

        /// <summary>
        /// No longer the workflow's channel (set with the gate held): whoever takes the gate after it was retired goes to
        /// the workflow's current channel instead.
        /// </summary>
        public bool Retired { get; set; }

        public ImmutableArray<EventSubscription> Subscriptions => _subscriptions;

        public void Add(EventSubscription subscription) =>
            ImmutableInterlocked.Update(ref _subscriptions, static (list, s) => list.Add(s), subscription);

        public void Remove(EventSubscription subscription) =>
            ImmutableInterlocked.Update(ref _subscriptions, static (list, s) => list.Remove(s), subscription);
    }
}
