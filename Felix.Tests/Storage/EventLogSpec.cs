using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

/// <summary>What every <see cref="IEventLog"/> backend does; each backend's test class inherits these facts.</summary>
public abstract class EventLogSpec
{
    /// <summary>A fresh, empty log that keeps at most <paramref name="maxEventsPerWorkflow"/> events per workflow.</summary>
    private protected abstract Task<IEventLog> CreateEventLogAsync(int maxEventsPerWorkflow = StreamingOptions.DefaultMaxEventsPerWorkflow);

    private protected static WorkflowEvent Output(string workflowId, int n) => new AgentOutputEvent
    {
        WorkflowId = workflowId,
        AgentId = $"agent_{n}",
        AgentType = "research",
        Content = $"output {n}",
        Confidence = n / 1000.0,
    };

    private protected static async Task AppendManyAsync(IEventLog log, string workflowId, int count)
    {
        for (var i = 1; i <= count; i++)
        {
            await log.AppendAsync(Output(workflowId, i)).AsTask().DefaultTimeout();
        }
    }

    [Fact]
    public async Task AppendStampsSequencesFromOneWithOneEpochAndEventIds()
    {
        var log = await CreateEventLogAsync();
        var events = Enumerable.Range(1, 3).Select(i => Output("wf_a", i)).ToList();
        foreach (var evt in events)
        {
            await log.AppendAsync(evt).AsTask().DefaultTimeout();
        }

        Assert.Equal([1L, 2L, 3L], events.Select(e => e.Sequence));
        Assert.Single(events.Select(e => e.Epoch).Distinct());
        Assert.False(string.IsNullOrEmpty(events[0].Epoch));
        Assert.Equal($"{events[0].Epoch}-2", events[1].EventId);
    }

    [Fact]
    public async Task StateOfUnknownWorkflowIsNullAndReadIsEmpty()
    {
        var log = await CreateEventLogAsync();

        Assert.Null(await log.GetStateAsync("wf_unknown").DefaultTimeout());
        var page = await log.ReadAsync("wf_unknown", 0, 10).DefaultTimeout();
        Assert.Empty(page.Events);
        Assert.False(page.Truncated);
    }

    [Fact]
    public async Task StateReportsEpochFirstAndLastSequence()
    {
        var log = await CreateEventLogAsync();
        await AppendManyAsync(log, "wf_a", 5);
        var first = (await log.ReadAsync("wf_a", 0, 1).DefaultTimeout()).Events[0];

        var state = await log.GetStateAsync("wf_a").DefaultTimeout();

        Assert.Equal(new StreamState(first.Epoch, 5, 1), state);
    }

    [Fact]
    public async Task ReadAfterReturnsOnlyLaterEventsInOrderAndPages()
    {
        var log = await CreateEventLogAsync();
        await AppendManyAsync(log, "wf_a", 10);

        var page = await log.ReadAsync("wf_a", 4, 3).DefaultTimeout();
        var rest = await log.ReadAsync("wf_a", 7, 100).DefaultTimeout();
        var end = await log.ReadAsync("wf_a", 10, 100).DefaultTimeout();

        Assert.Equal([5L, 6L, 7L], page.Events.Select(e => e.Sequence));
        Assert.Equal([8L, 9L, 10L], rest.Events.Select(e => e.Sequence));
        Assert.Empty(end.Events);
        Assert.False(page.Truncated || rest.Truncated || end.Truncated);
    }

    [Fact]
    public async Task EventsComeBackAsTheirOwnTypeWithEveryField()
    {
        var log = await CreateEventLogAsync();
        await log.AppendAsync(Output("wf_a", 7)).AsTask().DefaultTimeout();
        await log.AppendAsync(new WorkflowErrorEvent { WorkflowId = "wf_a", Error = "boom", Timestamp = "2026-01-01T00:00:00.000000Z" }).AsTask().DefaultTimeout();

        var events = (await log.ReadAsync("wf_a", 0, 10).DefaultTimeout()).Events;

        var output = Assert.IsType<AgentOutputEvent>(events[0]);
        Assert.Equal(("agent_7", "research", "output 7", 0.007), (output.AgentId, output.AgentType, output.Content, output.Confidence));
        var error = Assert.IsType<WorkflowErrorEvent>(events[1]);
        Assert.Equal(("wf_a", 2L, "boom", "2026-01-01T00:00:00.000000Z"), (error.WorkflowId, error.Sequence, error.Error, error.Timestamp));
        Assert.Equal($"{error.Epoch}-2", error.EventId);
    }

    [Fact]
    public async Task StreamsOfManyWorkflowsAppendedConcurrentlyStayContiguous()
    {
        var log = await CreateEventLogAsync();
        var ids = Enumerable.Range(1, 8).Select(i => $"wf_{i}").ToList();

        // Appends of one workflow are serialised (as the publisher does); different workflows run at once.
        await Task.WhenAll(ids.Select(id => Task.Run(() => AppendManyAsync(log, id, 50)))).DefaultTimeout();

        foreach (var id in ids)
        {
            var events = (await log.ReadAsync(id, 0, 1000).DefaultTimeout()).Events;
            Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), events.Select(e => e.Sequence));
            Assert.All(events, e => Assert.Equal(id, e.WorkflowId));
            Assert.Equal(50, (await log.GetStateAsync(id).DefaultTimeout())!.Value.LastSequence);
        }
    }

    [Fact]
    public async Task ARunningStreamKeepsEveryEventPastTheRetentionLimit()
    {
        var log = await CreateEventLogAsync(maxEventsPerWorkflow: 100);
        await AppendManyAsync(log, "wf_a", 150);

        var state = await log.GetStateAsync("wf_a").DefaultTimeout();
        var fromStart = await log.ReadAsync("wf_a", 0, 1000).DefaultTimeout();

        Assert.Equal((150L, 1L), (state!.Value.LastSequence, state.Value.FirstSequence));
        Assert.False(fromStart.Truncated);
        Assert.Equal(Enumerable.Range(1, 150).Select(i => (long)i), fromStart.Events.Select(e => e.Sequence));
    }

    [Fact]
    public async Task RetentionCutsAnEndedStreamToItsNewestEventsKeepsTheEpochAndReportsTruncation()
    {
        var log = await CreateEventLogAsync(maxEventsPerWorkflow: 100);
        await AppendManyAsync(log, "wf_a", 149);
        var epoch = (await log.GetStateAsync("wf_a").DefaultTimeout())!.Value.Epoch;
        await log.AppendAsync(new WorkflowErrorEvent { WorkflowId = "wf_a", Error = "done" }).AsTask().DefaultTimeout();

        var state = await log.GetStateAsync("wf_a").DefaultTimeout();
        var fromStart = await log.ReadAsync("wf_a", 0, 5).DefaultTimeout();
        var fromKept = await log.ReadAsync("wf_a", 60, 5).DefaultTimeout();
        var all = await log.ReadAsync("wf_a", 0, 1000).DefaultTimeout();

        Assert.Equal(new StreamState(epoch, 150, 51), state);
        Assert.True(fromStart.Truncated);
        Assert.Equal(51, fromStart.Events[0].Sequence);
        Assert.False(fromKept.Truncated);
        Assert.Equal(61, fromKept.Events[0].Sequence);
        Assert.Equal(Enumerable.Range(51, 100).Select(i => (long)i), all.Events.Select(e => e.Sequence));
        Assert.IsType<WorkflowErrorEvent>(all.Events[^1]);
        Assert.All(all.Events, e => Assert.Equal(("wf_a", epoch), (e.WorkflowId, e.Epoch)));
    }

    [Fact]
    public async Task RetentionLeavesAnEndedStreamWithinTheLimitWhole()
    {
        var log = await CreateEventLogAsync(maxEventsPerWorkflow: 100);
        await AppendManyAsync(log, "wf_a", 99);
        await log.AppendAsync(new WorkflowErrorEvent { WorkflowId = "wf_a", Error = "done" }).AsTask().DefaultTimeout();

        var state = await log.GetStateAsync("wf_a").DefaultTimeout();
        var fromStart = await log.ReadAsync("wf_a", 0, 1000).DefaultTimeout();

        Assert.Equal((100L, 1L), (state!.Value.LastSequence, state.Value.FirstSequence));
        Assert.False(fromStart.Truncated);
        Assert.Equal(100, fromStart.Events.Count);
    }

    [Fact]
    public async Task NothingIsAppendedAfterTheTerminalEventWhoeverWrites()
    {
        var log = await CreateEventLogAsync();
        await log.AppendAsync(Output("wf_a", 1)).AsTask().DefaultTimeout();
        await log.AppendAsync(new WorkflowErrorEvent { WorkflowId = "wf_a", Error = "done" }, fence: 1).AsTask().DefaultTimeout();

        foreach (var fence in new long[] { 0, 1, 2 })
        {
            var refused = await Assert.ThrowsAsync<AppendRefusedException>(() => log.AppendAsync(Output("wf_a", 3), fence).AsTask().DefaultTimeout());
            Assert.Equal(AppendRefusal.StreamEnded, refused.Reason);
        }

        Assert.Equal(2, (await log.GetStateAsync("wf_a").DefaultTimeout())!.Value.LastSequence);
        Assert.Equal(2, (await log.ReadAsync("wf_a", 0, 10).DefaultTimeout()).Events.Count);
    }

    [Fact]
    public async Task AStaleRunIsRefusedOnceANewerAttemptHasWritten()
    {
        // The workflow's creation starts its stream (outside a run, as in the product); then two run attempts write.
        var log = await CreateEventLogAsync();
        await log.AppendAsync(Output("wf_a", 1)).AsTask().DefaultTimeout();
        await log.AppendAsync(Output("wf_a", 2), fence: 2).AsTask().DefaultTimeout();

        var refused = await Assert.ThrowsAsync<AppendRefusedException>(() => log.AppendAsync(Output("wf_a", 3), fence: 1).AsTask().DefaultTimeout());

        Assert.Equal(AppendRefusal.StaleRun, refused.Reason);
        // Writes outside a run (the API's) and the current attempt go on, with no gap where the refused one was.
        var api = Output("wf_a", 4);
        var current = Output("wf_a", 5);
        await log.AppendAsync(api).AsTask().DefaultTimeout();
        await log.AppendAsync(current, fence: 2).AsTask().DefaultTimeout();
        Assert.Equal((3L, 4L), (api.Sequence, current.Sequence));
        Assert.Equal([1L, 2L, 3L, 4L], (await log.ReadAsync("wf_a", 0, 10).DefaultTimeout()).Events.Select(e => e.Sequence));
        // Fences are per stream.
        await log.AppendAsync(Output("wf_b", 1)).AsTask().DefaultTimeout();
        await log.AppendAsync(Output("wf_b", 2), fence: 1).AsTask().DefaultTimeout();
    }
}
