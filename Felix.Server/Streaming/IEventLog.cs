using Felix.Contracts.Events;

namespace Felix.Server.Streaming;

/// <summary>
/// The history of every workflow's events: the source of truth for sequence numbers, resume and replay.
/// </summary>
/// <remarks>
/// <para>Delivery guarantee: <see cref="EventPublisher"/> appends an event here before any client sees it, and appends
/// and delivers the events of one workflow one at a time. So a client that reads the history up to the position it was
/// given and then the live events after it sees every event once, in sequence order, with no gap.</para>
/// <para>Positions: sequences start at 1 and grow by one per event of a workflow; they are never reused within an epoch.
/// The epoch is assigned with the workflow's first event and changes only when the history is lost (a backend that
/// starts empty, or history dropped by retention), so a position from another epoch is never taken for one of this
/// stream.</para>
/// </remarks>
internal interface IEventLog
{
    /// <summary>
    /// Stamps <paramref name="evt"/> with the workflow's next sequence, its epoch and its event id, and stores it.
    /// Callers serialise appends per workflow; a backend may batch writes but completes only once the event is stored.
    /// </summary>
    /// <param name="evt">The event.</param>
    /// <param name="fence">
    /// The fencing token of the run attempt that writes (its attempt number), or 0 for a write that is not a run's (a
    /// workflow created or cancelled through the API). The log keeps the highest token it has seen per stream, checked
    /// and raised in the same atomic step as the append: a run whose token is lower than that is stale (another attempt
    /// took the workflow over) and its append is refused.
    /// </param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="AppendRefusedException">
    /// The stream already has its terminal event (nothing is appended after it, whoever writes), or
    /// <paramref name="fence"/> is stale, or (a log whose storage can come back empty: Redis without persistence) a run
    /// writes to a stream that is gone, which it never starts again. Nothing was stored.
    /// </exception>
    ValueTask AppendAsync(WorkflowEvent evt, long fence = 0, CancellationToken cancellationToken = default);

    /// <summary>The workflow's epoch and last sequence, or null when it has no events.</summary>
    ValueTask<StreamState?> GetStateAsync(string workflowId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads up to <paramref name="limit"/> events with a sequence greater than <paramref name="afterSequence"/>, in order.
    /// 0 reads from the first kept event. When events after <paramref name="afterSequence"/> are no longer kept, the result
    /// starts at the oldest kept event and says so with <see cref="HistoryPage.Truncated"/>.
    /// </summary>
    ValueTask<HistoryPage> ReadAsync(string workflowId, long afterSequence, int limit, CancellationToken cancellationToken = default);
}

/// <summary>Where a workflow's stream stands.</summary>
internal readonly record struct StreamState(string Epoch, long LastSequence, long FirstSequence);

/// <summary>A slice of a workflow's history.</summary>
internal sealed record HistoryPage(IReadOnlyList<WorkflowEvent> Events, bool Truncated)
{
    public static readonly HistoryPage Empty = new([], false);
}
