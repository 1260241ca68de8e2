using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Felix.Tests.Streaming;

/// <summary>
/// Reading history the way every reader does: a range read page by page that stops at its end, at the terminal event
/// or at the end of what is kept, and one page at a client's position with where the next one starts. On the in-memory
/// log; <c>Storage/ResumeTests</c> reads the same pages through REST, the hub and the raw socket.
/// </summary>
public sealed class HistoryReaderTests
{
    private const string WorkflowId = "wf_0000cafe";

    [Fact]
    public async Task ARangeGivesTheEventsAfterItsStartUpToItsEndAcrossPages()
    {
        var log = await LogWithAsync(events: 8);

        Assert.Equal([3L, 4L, 5L], await RangeAsync(log, after: 2, through: 5, pageSize: 2));
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L], await RangeAsync(log, after: 0, through: 8, pageSize: 3));
        Assert.Equal([7L, 8L], await RangeAsync(log, after: 6, through: 20, pageSize: 2));
        Assert.Empty(await RangeAsync(log, after: 5, through: 5, pageSize: 2));
    }

    [Fact]
    public async Task ARangeEndsAtTheTerminalEvent()
    {
        var log = await LogWithAsync(events: 3, terminal: true);

        Assert.Equal([2L, 3L, 4L], await RangeAsync(log, after: 1, through: 100, pageSize: 2));
    }

    [Fact]
    public async Task APageAtAPositionSaysWhereTheNextStartsAndWhetherThereIsMore()
    {
        var log = await LogWithAsync(events: 5);

        var first = await log.ReadPageAsync(WorkflowId, null, 2, limit: 2).DefaultTimeout();
        Assert.Equal([3L, 4L], first.Events.Select(e => e.Sequence));
        Assert.Equal((2L, false, 5L, 4L, true), (first.Start.AfterSequence, first.Start.ReplayedFromStart, first.LastSequence, first.NextAfter, first.HasMore));

        var last = await log.ReadPageAsync(WorkflowId, null, first.NextAfter, limit: 2).DefaultTimeout();
        Assert.Equal([5L], last.Events.Select(e => e.Sequence));
        Assert.Equal((5L, false), (last.NextAfter, last.HasMore));

        var past = await log.ReadPageAsync(WorkflowId, null, 5, limit: 2).DefaultTimeout();
        Assert.Empty(past.Events);
        Assert.Equal((5L, 5L, false), (past.Start.AfterSequence, past.NextAfter, past.HasMore));
    }

    [Fact]
    public async Task APageFromAnotherEpochOrPastWhatIsKeptStartsAtTheOldestKeptEventFlagged()
    {
        var log = await LogWithAsync(events: 5);

        var otherEpoch = await log.ReadPageAsync(WorkflowId, "0ldep0ch", 3, limit: 2).DefaultTimeout();
        Assert.Equal([1L, 2L], otherEpoch.Events.Select(e => e.Sequence));
        Assert.True(otherEpoch.Start.ReplayedFromStart);
        Assert.True(otherEpoch.HasMore);

        var trimmed = await LogWithAsync(events: 5, terminal: true, keep: 3);
        var fromStart = await trimmed.ReadPageAsync(WorkflowId, null, null, limit: 10).DefaultTimeout();
        Assert.Equal([4L, 5L, 6L], fromStart.Events.Select(e => e.Sequence));
        Assert.True(fromStart.Start.ReplayedFromStart);
        Assert.Equal((6L, false), (fromStart.NextAfter, fromStart.HasMore));

        // Right before the oldest kept event nothing was missed: the log's page is not truncated, nor the slice flagged.
        var rightBefore = await trimmed.ReadPageAsync(WorkflowId, null, 3, limit: 10).DefaultTimeout();
        Assert.Equal([4L, 5L, 6L], rightBefore.Events.Select(e => e.Sequence));
        Assert.False(rightBefore.Start.ReplayedFromStart);
        Assert.False((await trimmed.ReadAsync(WorkflowId, 3, 10).DefaultTimeout()).Truncated);
        Assert.True((await trimmed.ReadAsync(WorkflowId, 2, 10).DefaultTimeout()).Truncated);
    }

    [Fact]
    public async Task APageOfAStreamWithNoEventsIsEmptyAndHasNoMore()
    {
        var log = await LogWithAsync(events: 0);

        var page = await log.ReadPageAsync("wf_unknown", null, null, limit: 10).DefaultTimeout();

        Assert.Empty(page.Events);
        Assert.Equal((0L, 0L, false, false), (page.LastSequence, page.NextAfter, page.HasMore, page.Start.ReplayedFromStart));
    }

    private static async Task<IEventLog> LogWithAsync(int events, bool terminal = false, int keep = StreamingOptions.DefaultMaxEventsPerWorkflow)
    {
        var log = new InMemoryEventLog(Options.Create(new StreamingOptions { MaxEventsPerWorkflow = keep }));
        for (var i = 0; i < events; i++)
        {
            await log.AppendAsync(new AgentOutputDeltaEvent { WorkflowId = WorkflowId, AgentId = "a", Delta = "x" });
        }

        if (terminal)
        {
            await log.AppendAsync(new WorkflowErrorEvent { WorkflowId = WorkflowId, Error = "done" });
        }

        return log;
    }

    private static async Task<List<long>> RangeAsync(IEventLog log, long after, long through, int pageSize)
    {
        var sequences = new List<long>();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        await foreach (var evt in log.ReadRangeAsync(WorkflowId, after, through, pageSize, timeout.Token))
        {
            sequences.Add(evt.Sequence);
        }

        return sequences;
    }
}
