using System.Collections.Concurrent;
using System.Collections.Immutable;
using Felix.Contracts.Events;
using Felix.Server.Observability;
using Microsoft.Extensions.Options;

namespace Felix.Server.Streaming;

/// <summary>
/// The one way events leave the engine: stamp and append to the log, then hand to every transport, one event at a time
/// per workflow so every subscriber sees the same order.
/// </summary>
internal sealed partial class EventPublisher(
    IEventLog log,
    IEnumerable<IEventSink> sinks,
    TimeProvider time,
    IOptions<StreamingOptions> options,
    FelixMetrics metrics,
    ILogger<EventPublisher> logger)
{
    private readonly ConcurrentDictionary<string, WorkflowChannel> _channels = new(StringComparer.Ordinal);
    private readonly IEventSink[] _sinks = [.. sinks];
    private readonly StreamingOptions _options = options.Value;

    /// <summary>Events published since start (all workflows).</summary>
    public long PublishedCount => Interlocked.Read(ref _publishedCount);
    private long _publishedCount;

    public IEventLog Log => log;

    /// <summary>
    /// Publishes <paramref name="evt"/> for its workflow and returns it stamped. Returns once the event is in the log and
    /// queued on every transport. <paramref name="fence"/> is the writing run's fencing token (0 outside a run); an append
    /// the log refuses (<see cref="AppendRefusedException"/>) reaches no transport. The cancellation token only stops
    /// waiting for the workflow's turn.
    /// </summary>
    public async ValueTask<WorkflowEvent> PublishAsync(WorkflowEvent evt, long fence = 0, CancellationToken cancellationToken = default)
    {
        var channel = _channels.GetOrAdd(evt.WorkflowId, static _ => new WorkflowChannel());
        await channel.Gate.WaitAsync(cancellationToken);
        var started = time.GetTimestamp();
        try
        {
            evt.Timestamp = Timestamps.Now(time);
            // The append and the fan-out are not cancellable: half a publish would leave a gap in what clients saw.
            await log.AppendAsync(evt, fence, CancellationToken.None);
            Interlocked.Increment(ref _publishedCount);
            metrics.Published();
            var published = new PublishedEvent(evt);
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

            channel.Completed |= evt.IsTerminal;
            metrics.FanoutDuration(time.GetElapsedTime(started));
        }
        finally
        {
            channel.Gate.Release();
        }

        ForgetIfDone(evt.WorkflowId, channel);
        return evt;
    }

    /// <summary>
    /// Hands an event that another process published (and appended to the shared log) to this process's subscriptions.
    /// Callers pass the events of one workflow in sequence order; a subscription fills any gap from the log.
    /// </summary>
    public void DeliverToSubscriptions(PublishedEvent published)
    {
        if (!_channels.TryGetValue(published.Event.WorkflowId, out var channel))
        {
            return;
        }

        foreach (var subscription in channel.Subscriptions)
        {
            if (!subscription.Deliver(published))
            {
                metrics.Dropped("stream", "slow_consumer");
            }
        }

        channel.Completed |= published.Event.IsTerminal;
        ForgetIfDone(published.Event.WorkflowId, channel);
    }

    /// <summary>
    /// Starts a subscription at a position: after <paramref name="afterSequence"/> of <paramref name="epoch"/> (when the
    /// epoch is given and differs from the stream's, or the position is no longer kept, replay starts at the oldest kept
    /// event and <see cref="EventSubscription.ReplayedFromStart"/> says so).
    /// </summary>
    public async Task<EventSubscription> SubscribeAsync(string workflowId, string? epoch, long? afterSequence, CancellationToken cancellationToken = default)
    {
        var channel = _channels.GetOrAdd(workflowId, static _ => new WorkflowChannel());
        var subscription = new EventSubscription(workflowId, log, _options.SendQueueCapacity, _options.ReplayPageSize, s =>
        {
            channel.Remove(s);
            channel.Completed |= s.SawTerminal;
            ForgetIfDone(workflowId, channel);
        }, _options.LiveLogCheckInterval);
        await channel.Gate.WaitAsync(cancellationToken);
        try
        {
            // Listen before reading the state: events relayed from other nodes do not take this gate, and one that lands
            // between the two would otherwise be neither in the history read nor in the live queue. An event that is in
            // both is dropped by the subscription's sequence check.
            channel.Add(subscription);
            var state = await log.GetStateAsync(workflowId, cancellationToken);
            Position(subscription, state, epoch, afterSequence);
        }
        catch
        {
            channel.Remove(subscription);
            throw;
        }
        finally
        {
            channel.Gate.Release();
        }

        return subscription;
    }

    /// <summary>
    /// Runs <paramref name="join"/> (a hub group join) while no event of the workflow is being published, and returns the
    /// stream state at that moment: events up to it are in the log, events after it reach the group.
    /// </summary>
    public async Task<StreamState?> JoinAsync(string workflowId, Func<Task> join, CancellationToken cancellationToken = default)
    {
        var channel = _channels.GetOrAdd(workflowId, static _ => new WorkflowChannel());
        await channel.Gate.WaitAsync(cancellationToken);
        try
        {
            await join();
            return await log.GetStateAsync(workflowId, cancellationToken);
        }
        finally
        {
            channel.Gate.Release();
        }
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

    // A finished stream gets no more events, so its channel can go; a late subscriber makes a fresh one and reads history.
    private void ForgetIfDone(string workflowId, WorkflowChannel channel)
    {
        if (channel.Completed && channel.Subscriptions.IsEmpty)
        {
            _channels.TryRemove(new KeyValuePair<string, WorkflowChannel>(workflowId, channel));
        }
    }

    private static void Position(EventSubscription subscription, StreamState? state, string? epoch, long? afterSequence)
    {
        var start = ResumePoint.Resolve(state, epoch, afterSequence);
        subscription.Epoch = start.Epoch;
        subscription.AfterSequence = start.AfterSequence;
        subscription.HistoryEnd = start.HistoryEnd;
        subscription.ReplayedFromStart = start.ReplayedFromStart;
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "Transport {Sink} failed to take event {Sequence} of workflow {WorkflowId}")]
    private static partial void LogSinkFailed(ILogger logger, Exception exception, string sink, string workflowId, long sequence);

    private sealed class WorkflowChannel
    {
        private ImmutableArray<EventSubscription> _subscriptions = [];

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public bool Completed { get; set; }

        public ImmutableArray<EventSubscription> Subscriptions => _subscriptions;

        public void Add(EventSubscription subscription) =>
            ImmutableInterlocked.Update(ref _subscriptions, static (list, s) => list.Add(s), subscription);

        public void Remove(EventSubscription subscription) =>
            ImmutableInterlocked.Update(ref _subscriptions, static (list, s) => list.Remove(s), subscription);
    }
}
