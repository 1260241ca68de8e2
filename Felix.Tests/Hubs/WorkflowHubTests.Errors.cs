using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Hubs;

public sealed partial class WorkflowHubTests
{
    private const string UnknownWorkflowId = "wf_0123456789abcdef";

    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task UnknownWorkflowFailsWithNotFound(string protocol, HttpTransportType transport)
    {
        await using var app = new FelixApplication();
        await using var connection = await StartAsync(app, protocol, transport);

        var subscribe = await Assert.ThrowsAsync<HubException>(() =>
            connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), UnknownWorkflowId, null).DefaultTimeout());
        var stream = await Assert.ThrowsAsync<HubException>(() => ReadAllAsync(
            connection.StreamAsync<WorkflowEvent>(nameof(IWorkflowHub.StreamEvents), UnknownWorkflowId, null, null)).DefaultTimeout());
        var withOptions = await Assert.ThrowsAsync<HubException>(() => ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEventsWithOptions), UnknownWorkflowId, new EventStreamOptions())).DefaultTimeout());

        Assert.All([subscribe, stream, withOptions], ex => Assert.Contains($"Workflow '{UnknownWorkflowId}' not found.", ex.Message));
        // The connection survives a refused call.
        Assert.Equal(HubConnectionState.Connected, connection.State);
    }

    [Fact]
    public async Task NotFoundShowsTheIdsControlAndBidiCharactersEscaped()
    {
        await using var app = new FelixApplication();
        await using var connection = await StartAsync(app, "json", HttpTransportType.WebSockets);

        // ESC [2J clears a terminal that prints the error; U+202E turns the rest of the line around.
        var error = await Assert.ThrowsAsync<HubException>(() =>
            connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), "wf_\u001b[2J\u202eevil", null).DefaultTimeout());

        Assert.Contains("Workflow 'wf_\\u001b[2J\\u202eevil' not found.", error.Message);
    }

    public static TheoryData<string, string> BadArguments => new()
    {
        { "empty id", "workflowId is required and at most 64 characters long." },
        { "long id", "workflowId is required and at most 64 characters long." },
        { "negative sequence", "afterSequence must be 0 or more" },
        { "unknown type", "Unknown event type 'agent_danced'." },
        { "confidence above 1", "minConfidence must be a number between 0 and 1." },
        { "negative confidence", "minConfidence must be a number between 0 and 1." },
        { "no options", "options is required" },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public async Task BadArgumentsFailWithAClearHubException(string argument, string message)
    {
        await using var app = new FelixApplication();
        var (_, workflowId, _) = await FinishedWorkflowAsync(app);
        foreach (var protocol in new[] { "json", "messagepack" })
        {
            await using var connection = await StartAsync(app, protocol, HttpTransportType.WebSockets);

            var error = await Assert.ThrowsAsync<HubException>(() => CallWith(connection, argument, workflowId).DefaultTimeout());

            Assert.Contains(message, error.Message);
            Assert.DoesNotContain("   at ", error.Message);
        }
    }

    private static Task CallWith(HubConnection connection, string argument, string workflowId) => argument switch
    {
        "empty id" => connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), "", null),
        "long id" => ReadAllAsync(connection.StreamAsync<WorkflowEvent>(nameof(IWorkflowHub.StreamEvents), new string('x', 65), null, null)),
        "negative sequence" => connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), workflowId, -1L),
        "unknown type" => ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEvents), workflowId, null, new[] { EventTypes.AgentSpawned, "agent_danced" })),
        "confidence above 1" => ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEventsWithOptions), workflowId, new EventStreamOptions { MinConfidence = 1.5 })),
        "negative confidence" => ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEventsWithOptions), workflowId, new EventStreamOptions { MinConfidence = -0.1 })),
        "no options" => ReadAllAsync(connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEventsWithOptions), workflowId, null)),
        _ => throw new ArgumentOutOfRangeException(nameof(argument), argument, null),
    };
}
