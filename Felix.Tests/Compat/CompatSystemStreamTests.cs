using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Felix.Contracts.Events;
using Felix.Server.Compat;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>
/// The raw system stream as the original documented it: <c>agent_registered</c>, <c>agent_deregistered</c>,
/// <c>approval_requested</c> and <c>system_status_change</c> by default; Felix's other system events only when asked for.
/// </summary>
public sealed class CompatSystemStreamTests
{
    [Fact]
    public async Task ByDefaultOnlyTheDocumentedTypesComeAndEveryAgentIsRegisteredThenDeregistered()
    {
        await using var app = CreateServer();
        using var documented = await ConnectAsync(app, "");
        using var everything = await ConnectAsync(app, "&types=all");
        using var client = app.CreateApiClient();

        var created = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 3);
        var workflow = await client.WaitForTerminalAsync(created.WorkflowId);
        var agents = workflow.AgentsSpawned.Select(a => a.AgentId).ToList();
        Assert.NotEmpty(agents);

        var seen = await ReadUntilDeregisteredAsync(documented, created.WorkflowId, agents.Count);
        Assert.All(seen, f => Assert.Contains(f.Type(), SystemEvent.Documented));
        Assert.Equal(agents, seen.Where(f => f.Type() == SystemEvent.AgentRegistered).Select(f => f.Str("agent_id")));
        Assert.Equal(agents, seen.Where(f => f.Type() == SystemEvent.AgentDeregistered).Select(f => f.Str("agent_id")));
        foreach (var agent in agents)
        {
            // An agent is deregistered after it was registered, and before the next one is registered.
            var registered = seen.FindIndex(f => f.Type() == SystemEvent.AgentRegistered && f.Str("agent_id") == agent);
            var deregistered = seen.FindIndex(f => f.Type() == SystemEvent.AgentDeregistered && f.Str("agent_id") == agent);
            Assert.True(registered < deregistered, $"{agent}: registered at {registered}, deregistered at {deregistered}");
        }

        var all = await ReadUntilDeregisteredAsync(everything, created.WorkflowId, agents.Count);
        Assert.Contains(all, f => f.Type() == SystemEvent.WorkflowCreated);
        Assert.Contains(all, f => f.Type() == SystemEvent.WorkflowStatusChanged && f.Str("status") == "running");
    }

    [Theory]
    [InlineData("&types=workflow_created,no_such_type")]
    [InlineData("&types=all,no_such_type")]
    [InlineData("&types=agent_output")] // a workflow stream's type, not a system one
    public async Task AnUnknownTypeIsRefusedWith1008(string query)
    {
        await using var app = CreateServer();
        using var socket = await app.ConnectRawAsync($"api/v1/ws/system/events?api_key={Key}{query}");

        Assert.Null(await socket.ReceiveTextAsync());
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        Assert.Equal(CompatCloseCodes.UnknownEventType, socket.CloseStatusDescription);
    }

    [Fact]
    public async Task ANamedTypeListGetsOnlyThoseTypes()
    {
        await using var app = CreateServer();
        using var socket = await ConnectAsync(app, "&types=workflow_created");
        using var client = app.CreateApiClient();

        var created = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 1);
        await client.WaitForTerminalAsync(created.WorkflowId);
        var second = await client.CreateWorkflowAsync("Explain it again", maxSteps: 1);

        // Only creations come: the first workflow's agents and statuses in between are left out.
        var first = (await socket.ReceiveJsonAsync())!;
        var next = (await socket.ReceiveJsonAsync())!;
        Assert.Equal((SystemEvent.WorkflowCreated, created.WorkflowId), (first.Type(), first.Str("workflow_id")));
        Assert.Equal((SystemEvent.WorkflowCreated, second.WorkflowId), (next.Type(), next.Str("workflow_id")));
    }

    [Fact]
    public async Task AStoppingServerSaysSoBeforeItsGoingAwayClose()
    {
        await using var app = CreateServer();
        using var socket = await ConnectAsync(app, "");

        app.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        var frames = new List<JsonObject>();
        while (await socket.ReceiveJsonAsync() is { } frame)
        {
            frames.Add(frame);
        }

        // The engine's own "running" may come first, when it started after this client connected.
        var last = frames[^1];
        Assert.All(frames, f => Assert.Equal(SystemEvent.SystemStatusChange, f.Type()));
        Assert.Equal(SystemEvent.Stopping, last.Str("status"));
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, socket.CloseStatus);
        Assert.Equal(CompatCloseCodes.ServerShutdown, socket.CloseStatusDescription);
    }

    private static async Task<WebSocket> ConnectAsync(FelixApplication app, string query)
    {
        var socket = await app.ConnectRawAsync($"api/v1/ws/system/events?api_key={Key}{query}");
        Assert.Equal("connected", (await socket.ReceiveJsonAsync())!.Type());
        return socket;
    }

    private static async Task<List<JsonObject>> ReadUntilDeregisteredAsync(WebSocket socket, string workflowId, int agents)
    {
        var frames = new List<JsonObject>();
        while (frames.Count(f => f.Type() == SystemEvent.AgentDeregistered) < agents)
        {
            var frame = await socket.ReceiveJsonAsync() ?? throw new Xunit.Sdk.XunitException($"The stream closed after {frames.Count} frames.");
            if (frame["workflow_id"]?.GetValue<string>() == workflowId)
            {
                frames.Add(frame);
            }
        }

        return frames;
    }
}
