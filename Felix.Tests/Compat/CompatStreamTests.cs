using System.Net.WebSockets;
using Felix.Tests.Infrastructure;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>The raw workflow stream through Kestrel: order, fan-out, history, resume and refusals.</summary>
public sealed class CompatStreamTests
{
    [Fact]
    public async Task FullRunArrivesInOrderAndEndsWithNormalClose()
    {
        await using var app = CreateServer();
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", 3);

        var frames = await ReadStreamAsync(app, WorkflowPath(workflow.WorkflowId, "types=all"));

        Assert.Equal(["connected", "workflow_status"], frames.Take(2).Types());
        var events = frames.Events();
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence()));
        Assert.Equal("workflow_complete", events[^1].Type());
        var types = events.Types().ToList();
        Assert.True(types.LastIndexOf("agent_output") < types.IndexOf("synthesis_started"));
        foreach (var spawned in events.OfType("agent_spawned"))
        {
            var agent = spawned.Str("agent_id");
            Assert.True(events.IndexOf(spawned) < events.FindIndex(e => e.Type() == "agent_output" && e.Str("agent_id") == agent));
        }
    }

    [Fact]
    public async Task TenConcurrentClientsReceiveTheSameSequence()
    {
        await using var app = CreateServer(("Felix:Llm:OfflineTokenDelay", "00:00:00.002"));
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", 3);

        var streams = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => ReadStreamAsync(app, WorkflowPath(workflow.WorkflowId, "types=all"))));

        var expected = streams[0].Events().Select(e => e.EventId()).ToList();
        Assert.Equal("workflow_complete", streams[0].Events()[^1].Type());
        Assert.All(streams, s => Assert.Equal(expected, s.Events().Select(e => e.EventId())));
    }

    [Fact]
    public async Task LateJoinAfterCompletionSeesTheWholeRun()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app);

        var frames = await ReadStreamAsync(app, WorkflowPath(workflowId));

        // The snapshot states the status where the replay starts (before the creation), not the end it replays up to.
        Assert.Equal("pending", frames[1].Str("status"));
        var events = frames.Events();
        Assert.Equal(1, events[0].Sequence());
        Assert.Equal("workflow_status", events[0].Type());
        Assert.NotEmpty(events.OfType("agent_spawned"));
        Assert.NotEmpty(events.OfType("agent_output"));
        Assert.Single(events.OfType("synthesis_started"));
        Assert.Equal("workflow_complete", events[^1].Type());
    }

    [Fact]
    public async Task ResumeWithLastEventIdSendsExactlyTheRest()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app);
        var all = (await ReadStreamAsync(app, WorkflowPath(workflowId, "types=all"))).Events();
        var cut = all.Count / 2;

        var rest = (await ReadStreamAsync(app, WorkflowPath(workflowId, $"types=all&last_event_id={all[cut - 1].EventId()}"))).Events();

        Assert.Equal(all.Skip(cut).Select(e => e.EventId()), rest.Select(e => e.EventId()));
    }

    [Fact]
    public async Task ServerPingsAnIdleClientAndAnswersItsPingWithPong()
    {
        // A slow run keeps the stream open while the keepalive fires; the server's stop does not wait for it.
        await using var app = CreateServer(
            ("Felix:Streaming:PingInterval", "00:00:00.2"), ("Felix:Llm:OfflineTokenDelay", "00:00:00.05"), ("Felix:Workflows:ShutdownGracePeriod", "00:00:00"));
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", 3);
        using var socket = await app.ConnectRawAsync(WorkflowPath(workflow.WorkflowId));

        var ping = await ReadUntilAsync(socket, text => text.Contains("\"type\":\"ping\"", StringComparison.Ordinal));
        Assert.EndsWith("Z\"}", ping, StringComparison.Ordinal);
        // Every ping the server reads while the stream is open gets its pong, in order with the events.
        for (var i = 0; i < 3; i++)
        {
            await socket.SendTextAsync("ping");
        }

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("pong", await ReadUntilAsync(socket, text => text == "pong"));
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).DefaultTimeout();
    }

    [Fact]
    public async Task CancelEndsTheStreamWithCancelledStatusAndANormalClose()
    {
        await using var app = CreateServer(("Felix:Llm:OfflineTokenDelay", "00:00:00.05"));
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", 3);
        using var socket = await app.ConnectRawAsync(WorkflowPath(workflow.WorkflowId));
        while ((await socket.ReceiveJsonAsync())!.Type() != "agent_spawned")
        {
        }

        using var cancel = await client.DeleteAsync($"api/v1/workflows/{workflow.WorkflowId}").DefaultTimeout();
        var rest = await socket.ReadToCloseAsync();

        Assert.Equal(System.Net.HttpStatusCode.NoContent, cancel.StatusCode);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        Assert.Equal("workflow_status", rest[^1].Type());
        Assert.Equal("cancelled", rest[^1].Str("status"));
        Assert.DoesNotContain("workflow_complete", rest.Types());
    }

    [Fact]
    public async Task UnknownWorkflowIsClosedWith1008WorkflowNotFound()
    {
        await using var app = CreateServer();

        using var socket = await app.ConnectRawAsync(WorkflowPath("wf_0000000000000000"));

        Assert.Null(await socket.ReceiveTextAsync());
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        Assert.Equal("Workflow not found", socket.CloseStatusDescription);
    }

    [Theory]
    [InlineData("api/v1/ws/workflows/wf_0000000000000000?api_key=wrong")]
    [InlineData("api/v1/ws/workflows/wf_0000000000000000")]
    [InlineData("api/v1/ws/system/events?api_key=wrong")]
    [InlineData("api/v1/ws/system/events")]
    public async Task BadOrMissingKeyIsClosedWith1008AuthenticationFailed(string path)
    {
        await using var app = CreateServer();

        using var socket = await app.ConnectRawAsync(path);

        Assert.Null(await socket.ReceiveTextAsync());
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        Assert.StartsWith("Authentication failed: ", socket.CloseStatusDescription, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SystemStreamWithTheKeyConnectsAndAnswersStats()
    {
        await using var app = CreateServer();

        using var socket = await app.ConnectRawAsync($"api/v1/ws/system/events?api_key={Key}");

        var connected = (await socket.ReceiveJsonAsync())!;
        Assert.Equal("connected", connected.Type());
        Assert.Equal("Connected to system events stream", connected.Str("message"));
        await socket.SendTextAsync("stats");
        var stats = (await socket.ReceiveJsonAsync())!;
        Assert.Equal("connection_stats", stats.Type());
        Assert.Equal(1, stats["system_connections"]!.GetValue<int>());
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).DefaultTimeout();
    }

    private static async Task<string> ReadUntilAsync(WebSocket socket, Func<string, bool> match)
    {
        while (true)
        {
            var text = await socket.ReceiveTextAsync() ?? throw new InvalidOperationException("The server closed before the expected frame.");
            if (match(text))
            {
                return text;
            }
        }
    }
}
