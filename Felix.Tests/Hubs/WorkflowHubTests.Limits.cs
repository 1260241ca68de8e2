using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Hubs;

public sealed partial class WorkflowHubTests
{
    public static TheoryData<string> Protocols => new() { "json", "messagepack" };

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task ANullTypeOrAgentIdIsSkippedLikeAnEmptyOne(string protocol)
    {
        await using var app = new FelixApplication();
        await using var connection = await StartAsync(app, protocol, HttpTransportType.WebSockets);
        var (_, workflowId, count) = await FinishedWorkflowAsync(app);

        // A JavaScript client sends [null] as easily as [""]; both mean no entry, not a server fault.
        var byType = await ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEvents), workflowId, null, new string?[] { null, EventTypes.WorkflowComplete })).DefaultTimeout();
        var byAgent = await ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEventsWithOptions), workflowId, new EventStreamOptions { AgentIds = [null!] })).DefaultTimeout();
        var onlyNull = await ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEventsWithOptions), workflowId, new EventStreamOptions { Types = [null!] })).DefaultTimeout();

        Assert.Equal([EventTypes.WorkflowComplete], byType.Select(e => e.Type));
        Assert.Equal(count, byAgent.Count);
        Assert.Equal(count, onlyNull.Count);
        Assert.Equal(HubConnectionState.Connected, connection.State);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task AConnectionKeepsAtMostMaxStreamsPerConnectionOpen(string protocol)
    {
        var model = new HeldModel();
        await using var app = new FelixApplication().WithServices(model.Install);
        await using var connection = await StartAsync(app, protocol, HttpTransportType.WebSockets);
        await using var other = await StartAsync(app, protocol, HttpTransportType.WebSockets);
        var workflow = await app.CreateApiClient().CreateWorkflowAsync();
        await model.FirstCallWaiting.DefaultTimeout();

        var streams = new List<System.Threading.Channels.ChannelReader<WorkflowEvent>>();
        for (var i = 0; i < WorkflowHub.MaxStreamsPerConnection; i++)
        {
            var stream = await connection.StreamAsChannelAsync<WorkflowEvent>(
                nameof(IWorkflowHub.StreamEvents), workflow.WorkflowId, null, null).DefaultTimeout();
            // Its first event comes from the history: the server has the stream open.
            await stream.ReadAsync().DefaultTimeout();
            streams.Add(stream);
        }

        var refused = await Assert.ThrowsAsync<HubException>(() => ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEvents), workflow.WorkflowId, null, null)).DefaultTimeout());
        // The cap is per connection: another connection of the same key streams as usual.
        var elsewhere = await other.StreamAsChannelAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEvents), workflow.WorkflowId, null, null).DefaultTimeout();
        await elsewhere.ReadAsync().DefaultTimeout();
        model.Release();
        var lastEvents = new List<WorkflowEvent>();
        foreach (var stream in streams.Append(elsewhere))
        {
            lastEvents.Add((await stream.ReadAllAsync().ToListAsync().AsTask().DefaultTimeout())[^1]);
        }

        // The finished streams gave their places back.
        var again = await ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEvents), workflow.WorkflowId, null, null)).DefaultTimeout();

        Assert.Contains($"Too many streams open on this connection (at most {WorkflowHub.MaxStreamsPerConnection})", refused.Message);
        Assert.All(lastEvents, e => Assert.True(e.IsTerminal));
        Assert.True(again[^1].IsTerminal);
        Assert.Equal(HubConnectionState.Connected, connection.State);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task AConnectionFollowsAtMostMaxWorkflowsPerConnection(string protocol)
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Limits:MaxWorkflowsPerConnection"] = "2" });
        await using var connection = await StartAsync(app, protocol, HttpTransportType.WebSockets);
        var (_, first, _) = await FinishedWorkflowAsync(app);
        var (_, second, _) = await FinishedWorkflowAsync(app);
        var (_, third, _) = await FinishedWorkflowAsync(app);

        await connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), first, null).DefaultTimeout();
        await connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), second, null).DefaultTimeout();
        var refused = await Assert.ThrowsAsync<HubException>(() =>
            connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), third, null).DefaultTimeout());
        // A workflow the connection already follows may be subscribed to again (a resume), and leaving one frees a place.
        var again = await connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), first, 1L).DefaultTimeout();
        await connection.InvokeAsync(nameof(IWorkflowHub.Unsubscribe), first).DefaultTimeout();
        var afterLeaving = await connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), third, null).DefaultTimeout();

        Assert.Contains("This connection follows 2 workflows, the most it may (Felix:Limits:MaxWorkflowsPerConnection)", refused.Message);
        Assert.Equal(first, again.Workflow.WorkflowId);
        Assert.Equal(third, afterLeaving.Workflow.WorkflowId);
        Assert.Equal(HubConnectionState.Connected, connection.State);
    }
}
