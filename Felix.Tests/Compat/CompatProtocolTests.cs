using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>What a client of the original reads: the documented types by default, each with its documented fields.</summary>
public sealed class CompatProtocolTests
{
    [Fact]
    public async Task DefaultStreamSendsOnlyTheDocumentedTypes()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app, maxSteps: 4);

        var frames = await ReadStreamAsync(app, WorkflowPath(workflowId));

        Assert.All(frames, f => Assert.Contains(f.Type(), DocumentedFrameTypes));
        Assert.Equal("connected", frames[0].Type());
        Assert.Equal(workflowId, frames[0].Str("workflow_id"));
        Assert.Equal($"Connected to workflow {workflowId} stream", frames[0].Str("message"));
        Assert.Equal("workflow_status", frames[1].Type());
        Assert.Equal("Explain quantum computing", frames[1].Str("task"));
        Assert.EndsWith("Z", frames[1].Str("created_at"), StringComparison.Ordinal);
        Assert.Equal("workflow_complete", frames[^1].Type());
    }

    [Fact]
    public async Task EveryFrameIsAJsonObjectWithAUtcTimestamp()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app);

        var frames = await ReadStreamAsync(app, WorkflowPath(workflowId, "types=all"));

        Assert.All(frames, f =>
        {
            var timestamp = f.Str("timestamp");
            Assert.EndsWith("Z", timestamp, StringComparison.Ordinal);
            Assert.True(DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _), timestamp);
        });
    }

    [Fact]
    public async Task DocumentedFieldsHaveTheirDocumentedMeanings()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app, maxSteps: 5);

        var events = (await ReadStreamAsync(app, WorkflowPath(workflowId))).Events();

        var spawned = events.OfType("agent_spawned");
        var outputs = events.OfType("agent_output");
        Assert.NotEmpty(spawned);
        Assert.All(spawned, s =>
        {
            Assert.StartsWith(s.Str("agent_type") + "_", s.Str("agent_id"), StringComparison.Ordinal);
            Assert.InRange(s.Num("spawn_time"), 0, 1);
        });
        Assert.Equal(spawned.Select(s => s.Str("agent_id")), outputs.Select(o => o.Str("agent_id")));
        Assert.All(outputs, o =>
        {
            Assert.Equal("Number", JsonValueKind(o["confidence"]));
            Assert.InRange(o.Num("confidence"), 0, 1);
            Assert.Contains("Confidence:", o.Str("content"), StringComparison.Ordinal);
        });
        var agentCount = events.OfType("synthesis_started").Single()["agent_count"]!.GetValue<int>();
        var synthesis = events.OfType("workflow_complete").Single()["synthesis"]!.AsObject();
        Assert.Equal(spawned.Count, agentCount);
        Assert.Equal(spawned.Count, synthesis["agents_synthesized"]!.GetValue<int>());
        Assert.InRange(synthesis.Num("confidence"), 0, 1);
        Assert.False(string.IsNullOrWhiteSpace(synthesis.Str("content")));
        Assert.Equal("completed", events[^1].Str("status"));
    }

    [Fact]
    public async Task AgentOutputCarriesTheWholeTextTheDeltasAddUpTo()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app, maxSteps: 3);

        var events = (await ReadStreamAsync(app, WorkflowPath(workflowId, "types=all"))).Events();

        Assert.Contains("agent_output_delta", events.Types());
        Assert.Contains("agent_completed", events.Types());
        Assert.Contains("workflow_progress", events.Types());
        foreach (var output in events.OfType("agent_output"))
        {
            var agent = output.Str("agent_id");
            var deltas = events.OfType("agent_output_delta").Where(d => d.Str("agent_id") == agent).ToList();
            Assert.Equal(Enumerable.Range(0, deltas.Count), deltas.Select(d => d["index"]!.GetValue<int>()));
            var text = new StringBuilder();
            deltas.ForEach(d => text.Append(d.Str("delta")));
            Assert.Equal(output.Str("content"), text.ToString());
        }
    }

    [Fact]
    public async Task TypesNamesTheTypesToReceive()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app);

        var frames = await ReadStreamAsync(app, WorkflowPath(workflowId, "types=agent_output_delta,workflow_complete"));

        Assert.Equal(["agent_output_delta", "workflow_complete"], frames.Events().Types().Distinct());
    }

    [Fact]
    public async Task UnknownTypeIsRefusedWith1008()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app);

        using var socket = await app.ConnectRawAsync(WorkflowPath(workflowId, "types=agent_thoughts"));

        Assert.Null(await socket.ReceiveTextAsync());
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        Assert.Equal("Unknown event type in types", socket.CloseStatusDescription);
    }

    [Fact]
    public async Task StatusCommandAnswersTheCurrentStatusAndOtherTextIsIgnored()
    {
        // The server's stop at the end does not wait for the slow run.
        await using var app = CreateServer(("Felix:Llm:OfflineTokenDelay", "00:00:00.05"), ("Felix:Workflows:ShutdownGracePeriod", "00:00:00"));
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", 3);
        using var socket = await app.ConnectRawAsync(WorkflowPath(workflow.WorkflowId));
        Assert.Equal("connected", (await socket.ReceiveJsonAsync())!.Type());
        Assert.Equal("workflow_status", (await socket.ReceiveJsonAsync())!.Type());

        await socket.SendTextAsync("{\"type\":\"subscribe\"}");
        await socket.SendTextAsync("status");

        JsonObject frame;
        do
        {
            frame = (await socket.ReceiveJsonAsync())!;
        }
        while (frame["event_id"] is not null);
        Assert.Equal("workflow_status", frame.Type());
        Assert.Null(frame["task"]);
        Assert.Contains(frame.Str("status"), new[] { "pending", "running" });
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).DefaultTimeout();
    }

    [Fact]
    public async Task StatusCommandGivesThePositionOfTheLastEventSentNotTheOneAtConnect()
    {
        await using var app = CreateServer(("Felix:Llm:OfflineTokenDelay", "00:00:00.005"), ("Felix:Workflows:ShutdownGracePeriod", "00:00:00"));
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", 5);
        using var socket = await app.ConnectRawAsync(WorkflowPath(workflow.WorkflowId, "types=all"));
        Assert.Equal("connected", (await socket.ReceiveJsonAsync())!.Type());
        var snapshot = (await socket.ReceiveJsonAsync())!;
        var atConnect = snapshot["last_sequence"]!.GetValue<long>();

        var beforeCommand = 0L;
        while (beforeCommand < atConnect + 20)
        {
            beforeCommand = (await socket.ReceiveJsonAsync())!["sequence"]!.GetValue<long>();
        }

        await socket.SendTextAsync("status");
        var beforeReply = beforeCommand;
        JsonObject frame;
        while ((frame = (await socket.ReceiveJsonAsync())!)["event_id"] is not null)
        {
            beforeReply = frame["sequence"]!.GetValue<long>();
        }

        // Resuming from the reply's position repeats at most an event that was being sent meanwhile and never skips one.
        var position = frame["last_sequence"]!.GetValue<long>();
        Assert.Equal("workflow_status", frame.Type());
        Assert.InRange(position, beforeCommand - 1, beforeReply);
        Assert.Equal(snapshot.Str("epoch"), frame.Str("epoch"));
        Assert.Null(frame["replayed_from_start"]);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).DefaultTimeout();
    }

    private static string JsonValueKind(JsonNode? node) => node!.GetValueKind().ToString();
}
