using System.Net.Http.Json;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Hubs;

/// <summary>
/// The workflow hub through the real server, over every protocol and transport a client may pick. Split by concern into
/// partial files: subscribe (here), streaming, options, groups, errors and the raw-socket comparison.
/// </summary>
public sealed partial class WorkflowHubTests
{
    /// <summary>JSON over every transport; MessagePack is binary, so not over Server-Sent Events.</summary>
    public static TheoryData<string, HttpTransportType> ProtocolsAndTransports => new()
    {
        { "json", HttpTransportType.WebSockets },
        { "json", HttpTransportType.ServerSentEvents },
        { "json", HttpTransportType.LongPolling },
        { "messagepack", HttpTransportType.WebSockets },
        { "messagepack", HttpTransportType.LongPolling },
    };

    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task SubscribeDeliversTheWholeRunThroughTheTypedClientMethods(string protocol, HttpTransportType transport)
    {
        var model = new HeldModel();
        await using var app = new FelixApplication().WithServices(model.Install);
        await using var connection = await StartAsync(app, protocol, transport);
        var recorder = new HubEventRecorder(connection);
        var api = app.CreateApiClient();
        var workflow = await api.CreateWorkflowAsync();

        var subscription = await connection.InvokeAsync<WorkflowSubscription>(
            nameof(IWorkflowHub.Subscribe), workflow.WorkflowId, null).DefaultTimeout();
        model.Release();
        await recorder.Terminal.DefaultTimeout();

        Assert.Equal(workflow.WorkflowId, subscription.Workflow.WorkflowId);
        Assert.False(subscription.ReplayedFromStart);
        var merged = MergeBySequence(subscription.Events, recorder.Events);
        AssertContiguousRun(merged);
        Assert.Equal(await HistoryTypesAsync(api, workflow.WorkflowId), merged.Select(e => e.Type));
        // The model was held until after the subscription, so every agent event reached the client live.
        Assert.Contains(recorder.Events, e => e is AgentSpawnedEvent);
        Assert.All(recorder.Received, r => Assert.Equal(EventTypes.All[r.Event.Type], r.Event.GetType()));
        Assert.All(recorder.Received, r => Assert.Equal(ToSnakeCase(r.Method), r.Event.Type));
        Assert.All(merged, e => Assert.Equal(workflow.WorkflowId, e.WorkflowId));
    }

    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task SubscribeAfterASequenceReturnsOnlyTheLaterHistory(string protocol, HttpTransportType transport)
    {
        await using var app = new FelixApplication();
        await using var connection = await StartAsync(app, protocol, transport);
        var (api, workflowId, count) = await FinishedWorkflowAsync(app);

        var subscription = await connection.InvokeAsync<WorkflowSubscription>(
            nameof(IWorkflowHub.Subscribe), workflowId, 3L).DefaultTimeout();

        Assert.False(subscription.ReplayedFromStart);
        Assert.Equal(Range(4, count), subscription.Events.Select(e => e.Sequence));
        Assert.Equal((await HistoryTypesAsync(api, workflowId)).Skip(3), subscription.Events.Select(e => e.Type));
        Assert.Equal(WorkflowStatuses.Completed, subscription.Workflow.Status);
    }

    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task SubscribeAfterASequencePastTheEndReplaysTheWholeHistory(string protocol, HttpTransportType transport)
    {
        await using var app = new FelixApplication();
        await using var connection = await StartAsync(app, protocol, transport);
        var (_, workflowId, count) = await FinishedWorkflowAsync(app);

        var subscription = await connection.InvokeAsync<WorkflowSubscription>(
            nameof(IWorkflowHub.Subscribe), workflowId, count + 10).DefaultTimeout();

        Assert.True(subscription.ReplayedFromStart);
        Assert.Equal(Range(1, count), subscription.Events.Select(e => e.Sequence));
    }

    private static async Task<HubConnection> StartAsync(
        FelixApplication app, string protocol, HttpTransportType transport, string path = HubPaths.Workflows, string? key = null)
    {
        var connection = app.CreateHubConnection(protocol, transport, path, key);
        await connection.StartAsync().DefaultTimeout();
        return connection;
    }

    /// <summary>
    /// Runs a workflow to its end and returns how many events its stream holds. The end is awaited on the raw WebSocket,
    /// which closes after the terminal event, so the hub under test plays no part in the setup.
    /// </summary>
    private static async Task<(HttpClient Api, string WorkflowId, long Count)> FinishedWorkflowAsync(FelixApplication app)
    {
        var api = app.CreateApiClient();
        var workflow = await api.CreateWorkflowAsync();
        var raw = await RawEventsAsync(app, workflow.WorkflowId);
        return (api, workflow.WorkflowId, raw.Count);
    }

    /// <summary>The (sequence, type) of every event the raw endpoint sends for the workflow, read until it closes.</summary>
    private static async Task<List<(long Sequence, string Type)>> RawEventsAsync(FelixApplication app, string workflowId)
    {
        using var socket = await app.ConnectRawAsync($"api/v1/ws/workflows/{workflowId}?types=all");
        var frames = await socket.ReadToCloseAsync();
        // The connected frame and the status snapshot describe the connection, not the stream: they carry no sequence.
        return frames
            .Where(f => f["sequence"] is not null)
            .Select(f => (f["sequence"]!.GetValue<long>(), f.Type()))
            .ToList();
    }

    /// <summary>The workflow's whole event log as the REST API pages it out.</summary>
    private static async Task<List<WorkflowEvent>> HistoryAsync(HttpClient api, string workflowId)
    {
        var events = new List<WorkflowEvent>();
        long after = 0;
        while (true)
        {
            var page = (await api.GetFromJsonAsync<EventPage>(
                $"api/v1/workflows/{workflowId}/events?after={after}&limit=1000", WorkflowApiExtensions.Json).DefaultTimeout())!;
            events.AddRange(page.Events);
            if (!page.HasMore)
            {
                return events;
            }

            after = page.NextAfter;
        }
    }

    private static async Task<IEnumerable<string>> HistoryTypesAsync(HttpClient api, string workflowId) =>
        (await HistoryAsync(api, workflowId)).Select(e => e.Type);

    private static async Task<List<WorkflowEvent>> ReadAllAsync(IAsyncEnumerable<WorkflowEvent> stream)
    {
        var events = new List<WorkflowEvent>();
        await foreach (var evt in stream)
        {
            events.Add(evt);
        }

        return events;
    }

    /// <summary>What a client does with Subscribe's history and the live events: keep each sequence once, in order.</summary>
    private static List<WorkflowEvent> MergeBySequence(IEnumerable<WorkflowEvent> history, IEnumerable<WorkflowEvent> live) =>
        history.Concat(live).DistinctBy(e => e.Sequence).OrderBy(e => e.Sequence).ToList();

    private static void AssertContiguousRun(IReadOnlyList<WorkflowEvent> events)
    {
        Assert.Equal(Range(1, events.Count), events.Select(e => e.Sequence));
        Assert.Equal(EventTypes.WorkflowStatus, events[0].Type);
        Assert.Equal(EventTypes.WorkflowComplete, events[^1].Type);
        Assert.Single(events, e => e.IsTerminal);
    }

    private static IEnumerable<long> Range(long first, long last) =>
        Enumerable.Range((int)first, (int)(last - first + 1)).Select(i => (long)i);

    private static string ToSnakeCase(string method) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(method);
}
