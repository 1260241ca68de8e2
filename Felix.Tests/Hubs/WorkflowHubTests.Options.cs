using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Hubs;

public sealed partial class WorkflowHubTests
{
    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task StreamEventsWithOptionsFiltersByAgentAndConfidence(string protocol, HttpTransportType transport)
    {
        await using var app = new FelixApplication();
        await using var connection = await StartAsync(app, protocol, transport);
        var (api, workflowId, _) = await FinishedWorkflowAsync(app);
        var history = await HistoryAsync(api, workflowId);
        var outputs = history.OfType<AgentOutputEvent>().OrderBy(e => e.Confidence).ToList();
        Assert.True(outputs.Count >= 2, "the offline run should produce several agent outputs");
        // Keep the more confident half of the outputs, and the events of two agents only.
        var threshold = outputs[outputs.Count / 2].Confidence;
        string[] agents = [.. history.OfType<AgentSpawnedEvent>().Take(2).Select(e => e.AgentId)];
        var options = new EventStreamOptions { AgentIds = agents, MinConfidence = threshold };

        var events = await ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEventsWithOptions), workflowId, options)).DefaultTimeout();

        var expected = history.Where(e => AgentOf(e) is not { } agent || agents.Contains(agent))
            .Where(e => e is not AgentOutputEvent output || output.Confidence >= threshold)
            .Select(e => e.Sequence);
        Assert.Equal(expected, events.Select(e => e.Sequence));
        Assert.Contains(events, e => e is AgentSpawnedEvent);
        Assert.Equal(EventTypes.WorkflowComplete, events[^1].Type);
    }

    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task StreamEventsWithOptionsResumesAfterASequenceAndFiltersByType(string protocol, HttpTransportType transport)
    {
        await using var app = new FelixApplication();
        await using var connection = await StartAsync(app, protocol, transport);
        var (api, workflowId, count) = await FinishedWorkflowAsync(app);
        var options = new EventStreamOptions
        {
            AfterSequence = count / 2,
            Types = [EventTypes.AgentOutput, EventTypes.WorkflowStatus, EventTypes.WorkflowComplete],
        };

        var events = await ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEventsWithOptions), workflowId, options)).DefaultTimeout();

        var expected = (await HistoryAsync(api, workflowId))
            .Where(e => e.Sequence > options.AfterSequence && options.Types.Contains(e.Type))
            .Select(e => (e.Sequence, e.Type));
        Assert.Equal(expected, events.Select(e => (e.Sequence, e.Type)));
        Assert.NotEmpty(events);
    }

    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task StreamEventsWithOptionsFromAnotherEpochReplaysTheWholeStream(string protocol, HttpTransportType transport)
    {
        await using var app = new FelixApplication();
        await using var connection = await StartAsync(app, protocol, transport);
        var (api, workflowId, count) = await FinishedWorkflowAsync(app);
        var epoch = (await HistoryAsync(api, workflowId))[0].Epoch;
        // A position in a stream this server no longer has (its history was lost): nothing of it can be taken as read.
        var options = new EventStreamOptions { Epoch = "e" + Guid.NewGuid().ToString("N")[..8], AfterSequence = count / 2 };

        var events = await ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEventsWithOptions), workflowId, options)).DefaultTimeout();

        Assert.Equal(count, events.Count);
        AssertContiguousRun(events);
        // The events carry the stream's own epoch, not the asked one: that is how the client learns it starts over.
        Assert.All(events, e => Assert.Equal(epoch, e.Epoch));
        Assert.NotEqual(options.Epoch, epoch);
    }

    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task StreamEventsWithEmptyOptionsSendsEverything(string protocol, HttpTransportType transport)
    {
        await using var app = new FelixApplication();
        await using var connection = await StartAsync(app, protocol, transport);
        var (_, workflowId, count) = await FinishedWorkflowAsync(app);

        var events = await ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEventsWithOptions), workflowId, new EventStreamOptions())).DefaultTimeout();

        Assert.Equal(count, events.Count);
        AssertContiguousRun(events);
    }

    private static string? AgentOf(WorkflowEvent evt) => evt switch
    {
        AgentSpawnedEvent e => e.AgentId,
        AgentOutputEvent e => e.AgentId,
        AgentOutputDeltaEvent e => e.AgentId,
        AgentReasoningDeltaEvent e => e.AgentId,
        AgentCompletedEvent e => e.AgentId,
        _ => null,
    };
}
