using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Hubs;

public sealed partial class WorkflowHubTests
{
    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task StreamEventsReplaysTheWholeHistoryAndCompletes(string protocol, HttpTransportType transport)
    {
        await using var app = new FelixApplication();
        await using var connection = await StartAsync(app, protocol, transport);
        var (api, workflowId, count) = await FinishedWorkflowAsync(app);

        var events = await ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEvents), workflowId, null, null)).DefaultTimeout();

        Assert.Equal(count, events.Count);
        AssertContiguousRun(events);
        Assert.Equal(await HistoryTypesAsync(api, workflowId), events.Select(e => e.Type));
        Assert.All(events, e => Assert.Equal(EventTypes.All[e.Type], e.GetType()));
    }

    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task StreamEventsSwitchesFromHistoryToLiveWithoutGapOrDuplicate(string protocol, HttpTransportType transport)
    {
        var model = new HeldModel();
        await using var app = new FelixApplication().WithServices(model.Install);
        await using var connection = await StartAsync(app, protocol, transport);
        var workflow = await app.CreateApiClient().CreateWorkflowAsync();

        var stream = connection.StreamAsync<WorkflowEvent>(nameof(IWorkflowHub.StreamEvents), workflow.WorkflowId, null, null);
        await using var reader = stream.GetAsyncEnumerator();
        // The first event comes from history, so the server-side subscription exists before the model is let go.
        Assert.True(await reader.MoveNextAsync().DefaultTimeout());
        var events = new List<WorkflowEvent> { reader.Current };
        model.Release();
        while (await reader.MoveNextAsync().DefaultTimeout())
        {
            events.Add(reader.Current);
        }

        AssertContiguousRun(events);
        Assert.Contains(events, e => e is AgentOutputEvent);
    }

    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task StreamEventsAfterASequenceSendsExactlyTheRest(string protocol, HttpTransportType transport)
    {
        await using var app = new FelixApplication();
        await using var connection = await StartAsync(app, protocol, transport);
        var (api, workflowId, count) = await FinishedWorkflowAsync(app);
        var after = count / 2;

        var events = await ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEvents), workflowId, after, null)).DefaultTimeout();

        Assert.Equal(Range(after + 1, count), events.Select(e => e.Sequence));
        Assert.Equal((await HistoryTypesAsync(api, workflowId)).Skip((int)after), events.Select(e => e.Type));
    }

    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task StreamEventsAfterTheTerminalEventCompletesEmpty(string protocol, HttpTransportType transport)
    {
        await using var app = new FelixApplication();
        await using var connection = await StartAsync(app, protocol, transport);
        var (_, workflowId, count) = await FinishedWorkflowAsync(app);

        var events = await ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEvents), workflowId, count, null)).DefaultTimeout();

        Assert.Empty(events);
    }

    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task StreamEventsWithTypesSendsOnlyThoseTypes(string protocol, HttpTransportType transport)
    {
        await using var app = new FelixApplication();
        await using var connection = await StartAsync(app, protocol, transport);
        var (api, workflowId, _) = await FinishedWorkflowAsync(app);
        string[] types = [EventTypes.AgentSpawned, EventTypes.WorkflowComplete];

        var events = await ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEvents), workflowId, null, types)).DefaultTimeout();

        var expected = (await HistoryAsync(api, workflowId)).Where(e => types.Contains(e.Type)).ToList();
        Assert.Equal(expected.Select(e => (e.Sequence, e.Type)), events.Select(e => (e.Sequence, e.Type)));
        Assert.Contains(events, e => e is AgentSpawnedEvent);
    }

    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task StreamEventsCompletesAfterTheTerminalEventEvenWhenItsTypeIsFilteredOut(string protocol, HttpTransportType transport)
    {
        await using var app = new FelixApplication();
        await using var connection = await StartAsync(app, protocol, transport);
        var (api, workflowId, _) = await FinishedWorkflowAsync(app);

        var events = await ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEvents), workflowId, null, new[] { EventTypes.AgentSpawned })).DefaultTimeout();

        var spawned = (await HistoryAsync(api, workflowId)).OfType<AgentSpawnedEvent>().Select(e => e.Sequence);
        Assert.Equal(spawned, events.Select(e => e.Sequence));
        Assert.All(events, e => Assert.IsType<AgentSpawnedEvent>(e));
    }
}
