using System.Runtime.CompilerServices;
using Felix.Contracts.Events;

namespace Felix.Server.Streaming;

/// <summary>
/// Reading a workflow's history, the same way for every reader: hub <c>Subscribe</c>, subscriptions (<c>StreamEvents</c>
/// and raw sockets), REST <c>GET .../events</c> and a resumed run's checkpoint. Position in, page or stream out.
/// </summary>
internal static class HistoryReader
{
    public const int DefaultPageSize = 500;

    /// <summary>
    /// The events after <paramref name="afterSequence"/> up to <paramref name="through"/>, read page by page; ends early at
    /// the terminal event or at the end of what is kept.
    /// </summary>
    public static async IAsyncEnumerable<WorkflowEvent> ReadRangeAsync(
        this IEventLog log, string workflowId, long afterSequence, long through, int pageSize = DefaultPageSize,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var after = afterSequence;
        while (after < through)
        {
            var page = await log.ReadAsync(workflowId, after, pageSize, cancellationToken);
            foreach (var evt in page.Events)
            {
                if (evt.Sequence > through)
                {
                    yield break;
                }

                after = evt.Sequence;
                yield return evt;
                if (evt.IsTerminal)
                {
                    yield break;
                }
            }

            if (page.Events.Count < pageSize)
            {
                yield break;
            }
        }
    }

    /// <summary>
    /// The status the workflow had at <paramref name="position"/>: that of the last <c>workflow_status</c> event at or
    /// before it, read backwards a page at a time (a run's statuses are few and early, so this is one page unless the
    /// position is far into a long run); null at position 0 or when no such event is kept.
    /// </summary>
    public static async Task<string?> StatusAtAsync(
        this IEventLog log, string workflowId, long position, int pageSize = DefaultPageSize, CancellationToken cancellationToken = default)
    {
        for (var end = position; end > 0; end -= pageSize)
        {
            var after = Math.Max(0, end - pageSize);
            var page = await log.ReadAsync(workflowId, after, (int)(end - after), cancellationToken);
            for (var i = page.Events.Count - 1; i >= 0; i--)
            {
                // A page that starts at the oldest kept event (the rest was dropped) may reach past the position.
                if (page.Events[i] is WorkflowStatusEvent { Status: var status } evt && evt.Sequence <= end)
                {
                    return status;
                }
            }

            if (page.Truncated || page.Events.Count == 0)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>
    /// One page at a client's position (<see cref="ResumePoint.Resolve"/>: another epoch, or a position no longer kept,
    /// starts at the oldest kept event and says so).
    /// </summary>
    public static async Task<HistorySlice> ReadPageAsync(
        this IEventLog log, string workflowId, string? epoch, long? afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        var state = await log.GetStateAsync(workflowId, cancellationToken);
        var start = ResumePoint.Resolve(state, epoch, afterSequence);
        var page = await log.ReadAsync(workflowId, start.AfterSequence, limit, cancellationToken);
        return new HistorySlice(start with { ReplayedFromStart = start.ReplayedFromStart || page.Truncated }, page.Events, state?.LastSequence ?? 0);
    }
}

/// <summary>A page of history read at a position, and the stream's last sequence when it was read.</summary>
internal sealed record HistorySlice(ResumePoint Start, IReadOnlyList<WorkflowEvent> Events, long LastSequence)
{
    /// <summary>The position after this page: its last event, or where it started when empty.</summary>
    public long NextAfter => Events.Count > 0 ? Events[^1].Sequence : Start.AfterSequence;

    public bool HasMore => NextAfter < LastSequence;
}
