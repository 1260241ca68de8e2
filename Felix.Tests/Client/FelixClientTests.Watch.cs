using Felix.Client;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using static Felix.Tests.Client.ClientTestSupport;

namespace Felix.Tests.Client;

/// <summary><see cref="FelixClient.WatchAsync(string, WatchOptions?, CancellationToken)"/>: the whole run, in order, once.</summary>
public sealed partial class FelixClientTests
{
    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(ClientTestSupport))]
    public async Task WatchSeesTheWholeRunInOrderAndEndsAfterTheTerminalEvent(FelixProtocol protocol)
    {
        var model = new HeldModel();
        await using var app = CreateServer().WithServices(model.Install);
        using var client = CreateClient(app, protocol);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 3).DefaultTimeout();

        var events = new List<WorkflowEvent>();
        await using (var reader = client.WatchAsync(workflow.WorkflowId).GetAsyncEnumerator())
        {
            // The first event comes from history; letting the model go only now makes the rest arrive live.
            Assert.True(await reader.MoveNextAsync().DefaultTimeout());
            events.Add(reader.Current);
            model.Release();
            while (await reader.MoveNextAsync().DefaultTimeout())
            {
                events.Add(reader.Current);
            }
        }

        await AssertWholeRunAsync(client, workflow.WorkflowId, events);
        Assert.Contains(events, e => e is AgentOutputDeltaEvent);
        Assert.Contains(events, e => e is WorkflowProgressEvent);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(ClientTestSupport))]
    public async Task WatchAfterTheRunReplaysItFromHistory(FelixProtocol protocol)
    {
        await using var app = CreateServer();
        using var client = CreateClient(app, protocol);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 2).DefaultTimeout();
        using var api = app.CreateApiClient();
        await api.WaitForTerminalAsync(workflow.WorkflowId);

        var events = await client.WatchAsync(workflow.WorkflowId).ToListAsync().DefaultTimeout();
        var after = await client.WatchAsync(workflow.WorkflowId, new WatchOptions { AfterSequence = 3 }).ToListAsync().DefaultTimeout();

        await AssertWholeRunAsync(client, workflow.WorkflowId, events);
        Assert.Equal(events.Skip(3).Select(e => e.Sequence), after.Select(e => e.Sequence));
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(ClientTestSupport))]
    public async Task WatchFiltersByTypeAgentAndConfidence(FelixProtocol protocol)
    {
        await using var app = CreateServer();
        using var client = CreateClient(app, protocol);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 3).DefaultTimeout();
        using var api = app.CreateApiClient();
        await api.WaitForTerminalAsync(workflow.WorkflowId);
        var all = await client.WatchAsync(workflow.WorkflowId).ToListAsync().DefaultTimeout();
        var outputs = all.OfType<AgentOutputEvent>().ToList();
        var threshold = outputs.Select(o => o.Confidence).Order().ElementAt(1);

        var oneAgent = await client.WatchAsync(workflow.WorkflowId, new WatchOptions
        {
            Types = [EventTypes.AgentOutput, EventTypes.WorkflowComplete],
            AgentIds = [outputs[0].AgentId],
        }).ToListAsync().DefaultTimeout();
        var confident = await client.WatchAsync(workflow.WorkflowId, new WatchOptions
        {
            Types = [EventTypes.AgentOutput],
            MinConfidence = threshold,
        }).ToListAsync().DefaultTimeout();

        Assert.Equal([outputs[0].Sequence, all[^1].Sequence], oneAgent.Select(e => e.Sequence));
        Assert.Equal(
            outputs.Where(o => o.Confidence >= threshold).Select(o => o.Sequence),
            confident.Select(e => e.Sequence));
    }

    [Fact]
    public async Task WatchFromAPositionPastTheEndReplaysFromTheStart()
    {
        await using var app = CreateServer();
        using var client = CreateClient(app);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 1).DefaultTimeout();
        using var api = app.CreateApiClient();
        await api.WaitForTerminalAsync(workflow.WorkflowId);

        var restarted = await client.WatchAsync(workflow.WorkflowId, new WatchOptions { AfterSequence = 10_000 }).ToListAsync().DefaultTimeout();
        var reset = await Assert.ThrowsAsync<FelixStreamResetException>(async () => await client.WatchAsync(
            workflow.WorkflowId, new WatchOptions { AfterSequence = 10_000, OnEpochChange = EpochChangeBehavior.Throw }).ToListAsync()).DefaultTimeout();

        await AssertWholeRunAsync(client, workflow.WorkflowId, restarted);
        Assert.Equal(10_000, reset.LastSequence);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(ClientTestSupport))]
    public async Task HandlerWatchCallsTheClientMethodOfEachEventInOrder(FelixProtocol protocol)
    {
        await using var app = CreateServer();
        using var client = CreateClient(app, protocol);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 2).DefaultTimeout();
        var handler = new RecordingWorkflowClient();

        await client.WatchAsync(workflow.WorkflowId, handler).DefaultTimeout();

        var history = await client.GetEventsAsync(workflow.WorkflowId, limit: 1000).DefaultTimeout();
        Assert.Equal(history.Events.Select(e => e.Type), handler.Calls.Select(EventTypeOf));
        Assert.Equal(nameof(IWorkflowClient.WorkflowComplete), handler.Calls[^1]);
    }

    [Fact]
    public async Task WatchOfAnUnknownWorkflowThrowsTheHubError()
    {
        await using var app = CreateServer();
        using var client = CreateClient(app);

        var error = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(
            async () => await client.WatchAsync("wf_missing").ToListAsync()).DefaultTimeout();

        Assert.Contains("Workflow 'wf_missing' not found.", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Every event of the run exactly once, sequences 1..N without a gap, ending with the terminal event, as the history has them.</summary>
    private static async Task AssertWholeRunAsync(FelixClient client, string workflowId, IReadOnlyList<WorkflowEvent> events)
    {
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.IsType<WorkflowCompleteEvent>(events[^1]);
        Assert.All(events, e => Assert.Equal(workflowId, e.WorkflowId));
        var history = await client.GetEventsAsync(workflowId, limit: 1000).DefaultTimeout();
        Assert.False(history.HasMore);
        Assert.Equal(history.Events.Select(e => (e.Sequence, e.Type, e.EventId)), events.Select(e => (e.Sequence, e.Type, e.EventId)));
    }

    private static string EventTypeOf(string clientMethod) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(clientMethod);

    private sealed class RecordingWorkflowClient : IWorkflowClient
    {
        public List<string> Calls { get; } = [];

        public Task WorkflowStatus(WorkflowStatusEvent evt) => Record(nameof(WorkflowStatus));
        public Task AgentSpawned(AgentSpawnedEvent evt) => Record(nameof(AgentSpawned));
        public Task AgentOutput(AgentOutputEvent evt) => Record(nameof(AgentOutput));
        public Task AgentOutputDelta(AgentOutputDeltaEvent evt) => Record(nameof(AgentOutputDelta));
        public Task AgentReasoningDelta(AgentReasoningDeltaEvent evt) => Record(nameof(AgentReasoningDelta));
        public Task AgentCompleted(AgentCompletedEvent evt) => Record(nameof(AgentCompleted));
        public Task SynthesisStarted(SynthesisStartedEvent evt) => Record(nameof(SynthesisStarted));
        public Task WorkflowProgress(WorkflowProgressEvent evt) => Record(nameof(WorkflowProgress));
        public Task WorkflowComplete(WorkflowCompleteEvent evt) => Record(nameof(WorkflowComplete));
        public Task WorkflowError(WorkflowErrorEvent evt) => Record(nameof(WorkflowError));
        public Task ApprovalRequested(ApprovalRequestedEvent evt) => Record(nameof(ApprovalRequested));
        public Task ApprovalResolved(ApprovalResolvedEvent evt) => Record(nameof(ApprovalResolved));

        private Task Record(string method)
        {
            Calls.Add(method);
            return Task.CompletedTask;
        }
    }
}
