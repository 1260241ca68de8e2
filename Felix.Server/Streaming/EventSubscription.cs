using Felix.Contracts.Events;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Felix.Server.Streaming;

/// <summary>
/// One subscriber's view of a workflow's stream: the history after its position, then live events, in order, each once.
/// Live events wait in a bounded queue; when it fills, the subscription fails with <see cref="SlowConsumerException"/>
/// instead of growing memory or holding up the publisher.
/// </summary>
/// <remarks>
/// The bound is a counter beside a single-reader unbounded channel rather than a bounded channel: the bounded one takes a
/// lock on every write and read, once per delivery, where this takes one interlocked increment and one decrement.
/// </remarks>
internal sealed class EventSubscription : IDisposable
{
    private readonly Channel<PublishedEvent> _live;
    private readonly int _capacity;
    private readonly Action<EventSubscription> _onDispose;
    private readonly IEventLog _log;
    private readonly int _pageSize;
    private int _queued;
    private volatile bool _stopped;

    private readonly TimeSpan? _logCheckInterval;

    public EventSubscription(
        string workflowId, IEventLog log, int capacity, int pageSize, Action<EventSubscription> onDispose, TimeSpan? logCheckInterval = null)
    {
        _logCheckInterval = logCheckInterval;
        WorkflowId = workflowId;
        _log = log;
        _capacity = capacity;
        _pageSize = pageSize;
        _onDispose = onDispose;
        _live = Channel.CreateUnbounded<PublishedEvent>(new UnboundedChannelOptions { SingleReader = true });
    }

    public string WorkflowId { get; }

    /// <summary>The current epoch of the stream when the subscription started (empty for a stream with no events).</summary>
    public string Epoch { get; internal set; } = "";

    /// <summary>Replay starts after this sequence.</summary>
    public long AfterSequence { get; internal set; }

    /// <summary>The last sequence that was in the log when the subscription started; live delivery begins after it.</summary>
    public long HistoryEnd { get; internal set; }

    /// <summary>True when the asked position was unknown or no longer kept, so replay starts at the oldest kept event.</summary>
    public bool ReplayedFromStart { get; internal set; }

    /// <summary>Queues a live event; false when the subscriber was too far behind and is now cut off.</summary>
    internal bool Deliver(PublishedEvent evt)
    {
        if (Interlocked.Increment(ref _queued) <= _capacity && _live.Writer.TryWrite(evt))
        {
            return true;
        }

        // A reader that stopped or a subscription being disposed has not fallen behind: the event is not dropped.
        if (_stopped)
        {
            return true;
        }

        _live.Writer.TryComplete(new SlowConsumerException(_capacity));
        return false;
    }

    /// <summary>The reader's token was cancelled: its wait ends, and so does the queue.</summary>
    private void Stop()
    {
        _stopped = true;
        _live.Writer.TryComplete();
    }

    /// <summary>History then live events; ends after the terminal event or when the subscriber falls behind.</summary>
    public async IAsyncEnumerable<PublishedEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var after = AfterSequence;
        while (after < HistoryEnd)
        {
            var page = await _log.ReadAsync(WorkflowId, after, _pageSize, cancellationToken);
            if (page.Events.Count == 0)
            {
                break;
            }

            foreach (var evt in page.Events)
            {
                if (evt.Sequence > HistoryEnd)
                {
                    break;
                }

                after = evt.Sequence;
                SawTerminal = evt.IsTerminal;
                yield return new PublishedEvent(evt);
                if (evt.IsTerminal)
                {
                    yield break;
                }
            }
        }

        // A subscriber that resumes right after the terminal event already has the whole stream: no live event will come.
        if (after > 0 && after == AfterSequence && await IsTerminalAsync(after, cancellationToken))
        {
            SawTerminal = true;
            yield break;
        }

        // The stop token ends the queue rather than each wait: a wait with a token that can be cancelled allocates a
        // waiter every time, and a subscriber kept up with a paced stream waits once per event (at the half-rate fan-out
        // these waits were most of the server's allocations).
        using var stop = cancellationToken.UnsafeRegister(static state => ((EventSubscription)state!).Stop(), this);
        while (true)
        {
            var published = TryReadLive();
            IReadOnlyList<WorkflowEvent>? fromLog = null;
            if (published is null)
            {
                if (_logCheckInterval is null)
                {
                    // Waiting here, in the iterator, allocates nothing; a ValueTask method would allocate its state
                    // machine per wait. A completed queue falls through with no event and ends the stream.
                    var more = await _live.Reader.WaitToReadAsync(CancellationToken.None);
                    cancellationToken.ThrowIfCancellationRequested();
                    if (more)
                    {
                        continue;
                    }
                }
                else
                {
                    (published, fromLog) = await NextLiveAsync(after, cancellationToken);
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }

            if (fromLog is not null)
            {
                foreach (var missed in fromLog)
                {
                    after = missed.Sequence;
                    SawTerminal = missed.IsTerminal;
                    yield return new PublishedEvent(missed);
                    if (missed.IsTerminal)
                    {
                        yield break;
                    }
                }

                continue;
            }

            if (published is null)
            {
                yield break;
            }

            // Events at or before the history end were already replayed above.
            if (published.Event.Sequence <= after)
            {
                continue;
            }

            // Events relayed from another node can miss one (a dropped pub/sub message); the log has every event.
            while (published.Event.Sequence > after + 1)
            {
                var page = await _log.ReadAsync(WorkflowId, after, Math.Min(_pageSize, (int)Math.Min(int.MaxValue, published.Event.Sequence - after - 1)), cancellationToken);
                if (page.Events.Count == 0 || page.Events[0].Sequence != after + 1)
                {
                    break;
                }

                foreach (var missed in page.Events)
                {
                    after = missed.Sequence;
                    yield return new PublishedEvent(missed);
                }
            }

            after = published.Event.Sequence;
            SawTerminal = published.Event.IsTerminal;
            yield return published;
            if (published.Event.IsTerminal)
            {
                yield break;
            }
        }
    }

    /// <summary>
    /// With a log check interval (scale-out): the next live event, or null once the queue is completed. A subscriber
    /// that has heard nothing for that long looks in the log: a relayed event that was lost, the terminal one included,
    /// would otherwise never come, and nothing after it would reveal the gap.
    /// </summary>
    private async ValueTask<(PublishedEvent? Live, IReadOnlyList<WorkflowEvent>? FromLog)> NextLiveAsync(long after, CancellationToken cancellationToken)
    {
        var interval = _logCheckInterval!.Value;
        while (true)
        {
            if (TryReadLive() is { } item)
            {
                return (item, null);
            }

            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            idle.CancelAfter(interval);
            try
            {
                if (!await _live.Reader.WaitToReadAsync(idle.Token))
                {
                    return (null, null);
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                var page = await _log.ReadAsync(WorkflowId, after, _pageSize, cancellationToken);
                if (page.Events.Count > 0 && page.Events[0].Sequence == after + 1)
                {
                    return (null, page.Events);
                }
            }
        }
    }

    private PublishedEvent? TryReadLive()
    {
        if (!_live.Reader.TryRead(out var item))
        {
            return null;
        }

        Interlocked.Decrement(ref _queued);
        return item;
    }

    private async ValueTask<bool> IsTerminalAsync(long sequence, CancellationToken cancellationToken)
    {
        var page = await _log.ReadAsync(WorkflowId, sequence - 1, 1, cancellationToken);
        return page.Events is [var evt] && evt.Sequence == sequence && evt.IsTerminal;
    }

    /// <summary>True once the terminal event was read: the stream is over and its channel may be let go.</summary>
    public bool SawTerminal { get; private set; }

    public void Dispose()
    {
        _stopped = true;
        _live.Writer.TryComplete();
        _onDispose(this);
    }
}
