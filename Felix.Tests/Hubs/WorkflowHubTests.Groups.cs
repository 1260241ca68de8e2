using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Hubs;

public sealed partial class WorkflowHubTests
{
    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task ClientsReceiveOnlyTheEventsOfTheWorkflowsTheySubscribedTo(string protocol, HttpTransportType transport)
    {
        var model = new HeldModel();
        await using var app = new FelixApplication().WithServices(model.Install);
        var api = app.CreateApiClient();
        var first = await api.CreateWorkflowAsync("Explain quantum computing");
        var second = await api.CreateWorkflowAsync("Compare sorting algorithms");
        await using var a1 = await StartAsync(app, protocol, transport);
        await using var a2 = await StartAsync(app, protocol, transport);
        await using var b = await StartAsync(app, protocol, transport);
        var (recordA1, recordA2, recordB) = (new HubEventRecorder(a1), new HubEventRecorder(a2), new HubEventRecorder(b));
        var historyA1 = await a1.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), first.WorkflowId, null).DefaultTimeout();
        var historyA2 = await a2.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), first.WorkflowId, null).DefaultTimeout();
        var historyB = await b.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), second.WorkflowId, null).DefaultTimeout();

        model.Release();
        await Task.WhenAll(recordA1.Terminal, recordA2.Terminal, recordB.Terminal).DefaultTimeout();

        Assert.All(recordA1.Events.Concat(recordA2.Events), e => Assert.Equal(first.WorkflowId, e.WorkflowId));
        Assert.All(recordB.Events, e => Assert.Equal(second.WorkflowId, e.WorkflowId));
        var runA1 = MergeBySequence(historyA1.Events, recordA1.Events);
        var runA2 = MergeBySequence(historyA2.Events, recordA2.Events);
        AssertContiguousRun(runA1);
        AssertContiguousRun(MergeBySequence(historyB.Events, recordB.Events));
        Assert.Equal(runA1.Select(e => (e.Sequence, e.Type, e.EventId)), runA2.Select(e => (e.Sequence, e.Type, e.EventId)));
    }

    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task UnsubscribedClientGetsNoMoreEvents(string protocol, HttpTransportType transport)
    {
        var model = new HeldModel();
        await using var app = new FelixApplication().WithServices(model.Install);
        var workflow = await app.CreateApiClient().CreateWorkflowAsync();
        await using var stays = await StartAsync(app, protocol, transport);
        await using var leaves = await StartAsync(app, protocol, transport);
        var (staying, leaving) = (new HubEventRecorder(stays), new HubEventRecorder(leaves));
        await stays.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), workflow.WorkflowId, null).DefaultTimeout();
        await leaves.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), workflow.WorkflowId, null).DefaultTimeout();
        await leaves.InvokeAsync(nameof(IWorkflowHub.Unsubscribe), workflow.WorkflowId).DefaultTimeout();

        model.Release();
        await staying.Terminal.DefaultTimeout();
        // The server wrote every group message before the terminal event reached the other client, and one connection
        // delivers in order: anything sent to the leaver would arrive before the result of this call.
        await leaves.InvokeAsync(nameof(IWorkflowHub.Unsubscribe), workflow.WorkflowId).DefaultTimeout();

        Assert.Empty(leaving.Events);
        Assert.NotEmpty(staying.Events);
    }
}
