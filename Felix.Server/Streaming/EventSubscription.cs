using Felix.Contracts.Events;
using System.Diagnostics.CodeAnalysis;
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
    private readonly Action<EventSubscription, object?> _onDispose;
    private readonly object? _onDisposeState;
    private readonly IEventLog _log;
    private readonly int _pageSize;
    private int _queued;
    // The last sequence handed to the reader.
    private long _after;
    private volatile bool _stopped;

    public EventSubscription(string workflowId, IEventLog log, int capacity, int pageSize, Action<EventSubscription> onDispose)
        : this(workflowId, log, capacity, pageSize, static (subscription, state) => ((Action<EventSubscription>)state!)(subscription), onDispose)
    {
    }

    /// <summary>With a static <paramref name="onDispose"/> and its state: an open subscription then holds no closure.</summary>
    public EventSubscription(string workflowId, IEventLog log, int capacity, int pageSize, Action<EventSubscription, object?> onDispose, object? state)
    {
        WorkflowId = workflowId;
        _log = log;
        _capacity = capacity;
        _pageSize = pageSize;
        _onDispose = onDispose;
        _onDisposeState = state;
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

    /// <summary>
    /// The workflow's status where replay starts (after <see cref="AfterSequence"/>), from the history; null when none is
    /// kept there (a replay from the start of the stream).
    /// </summary>
    public Task<string?> StatusAtStartAsync(CancellationToken cancellationToken = default) =>
        _log.StatusAtAsync(WorkflowId, AfterSequence, _pageSize, cancellationToken);

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

    /// <summary>
    /// The workflow was lost with storage: the reader gets what was queued before, then <see cref="StreamLostException"/>.
    /// </summary>
    internal void Lose() => _live.Writer.TryComplete(new StreamLostException(WorkflowId));

    /// <summary>The reader's token was cancelled: its wait ends, and so does the queue.</summary>
    private void Stop()
    {
        _stopped = true;
        _live.Writer.TryComplete();
    }

    /// <summary>History then live events; ends after the terminal event or when the subscriber falls behind.</summary>
    public async IAsyncEnumerable<PublishedEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var published in ReadHistoryAsync(cancellationToken))
        {
            yield return published;
        }

        if (SawTerminal)
        {
            yield break;
        }

        using var stop = StopOn(cancellationToken);
        while (true)
        {
            if (!TryReadNextLive(out var published))
            {
                // Waiting here, in the iterator, allocates nothing; a ValueTask method would allocate its state machine
                // per wait. A completed queue falls through with no event and ends the stream.
                var more = await WaitForLiveAsync();
                cancellationToken.ThrowIfCancellationRequested();
                if (more)
                {
                    continue;
                }

                yield break;
            }

            yield return published;
            if (published.Event.IsTerminal)
            {
                yield break;
            }
        }
    }

    /// <summary>
    /// The first part of <see cref="ReadAllAsync"/>: the history, ending after the terminal event if it is in it
    /// (<see cref="SawTerminal"/> then says there is nothing live to read). A reader that goes on with the live events
    /// itself (<see cref="StopOn"/>, <see cref="TryReadNextLive"/>, <see cref="WaitForLiveAsync"/>) holds no iterator
    /// while it waits for them.
    /// </summary>
    public async IAsyncEnumerable<PublishedEvent> ReadHistoryAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _after = AfterSequence;
        await foreach (var evt in _log.ReadRangeAsync(WorkflowId, AfterSequence, HistoryEnd, _pageSize, cancellationToken))
        {
            _after = evt.Sequence;
            SawTerminal = evt.IsTerminal;
            yield return new PublishedEvent(evt);
            if (evt.IsTerminal)
            {
                yield break;
            }
        }

        // A subscriber that resumes right after the terminal event already has the whole stream: no live event will come.
        if (_after > 0 && _after == AfterSequence && await IsTerminalAsync(_after, cancellationToken))
        {
            SawTerminal = true;
        }
    }

    /// <summary>
    /// Ends the live queue when <paramref name="cancellationToken"/> is cancelled, until the registration is disposed.
    /// </summary>
    /// <remarks>
    /// The stop token ends the queue rather than each wait: a wait with a token that can be cancelled allocates a waiter
    /// every time, and a subscriber kept up with a paced stream waits once per event (at the half-rate fan-out these waits
    /// were most of the server's allocations).
    /// </remarks>
    public CancellationTokenRegistration StopOn(CancellationToken cancellationToken) =>
        cancellationToken.UnsafeRegister(static state => ((EventSubscription)state!).Stop(), this);

    /// <summary>
    /// True when a live event may be waiting; false when the queue has ended. Throws <see cref="SlowConsumerException"/>
    /// when the reader fell behind, <see cref="StreamLostException"/> when the workflow was lost with storage.
    /// </summary>
    public ValueTask<bool> WaitForLiveAsync() => _live.Reader.WaitToReadAsync(CancellationToken.None);

    /// <summary>The next live event after those already read, if one is waiting.</summary>
    public bool TryReadNextLive([NotNullWhen(true)] out PublishedEvent? published)
    {
        while (TryReadLive() is { } next)
        {
            // Events at or before the history end were already replayed. The fan-out hands a subscription each event
            // after its position once and in order (it fills gaps itself), so nothing else can be out of place.
            if (next.Event.Sequence <= _after)
            {
                continue;
            }

            _after = next.Event.Sequence;
            SawTerminal = next.Event.IsTerminal;
            published = next;
            return true;
        }

        published = null;
        return false;
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
        _onDispose(this, _onDisposeState);
    }
}
