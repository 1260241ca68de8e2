using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Felix.Contracts.Events;
using Felix.Server.Compat;
using Felix.Server.Streaming;
using Felix.Tests.Approvals;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>A client that stops reading is dropped; it never holds back the others on the same workflow.</summary>
public sealed class CompatSlowConsumerTests
{
    // Bounds the flood, not a count the test expects: the stalled client is dropped once the kernel's socket buffers
    // and the server's queue are full, and how much they hold depends on the machine (receive buffers autotune).
    private const int MaxFloodEvents = 1000;
    private const string FloodAgent = "flood_001";

    [Fact]
    public async Task StalledClientIsDroppedWhileAHealthyOneReceivesEverything()
    {
        // The model is slowed to a crawl so the engine's own run stays open (the server's stop does not wait for it); the
        // flood is published directly.
        await using var app = CreateServer(
            ("Felix:Llm:OfflineTokenDelay", "00:00:01"),
            ("Felix:Workflows:ShutdownGracePeriod", "00:00:00"),
            // Long enough that the healthy client's 64 KB sends never pass it on a loaded machine (the hub's twin of
            // this test lost its healthy client to a 0.5 s deadline once in CI); the stalled one is still dropped.
            ("Felix:Compat:SendTimeout", "00:00:03"),
            ("Felix:Streaming:SendQueueCapacity", "16"));
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", 3);
        var publisher = app.Services.GetRequiredService<EventPublisher>();
        var connections = app.Services.GetRequiredService<CompatConnections>();
        int Open() => connections.PerWorkflow.GetValueOrDefault(workflow.WorkflowId);

        using var stalled = await app.ConnectRawAsync(WorkflowPath(workflow.WorkflowId));
        using var healthy = await app.ConnectRawAsync(WorkflowPath(workflow.WorkflowId));
        await Poll.UntilAsync(() => Task.FromResult(Open() == 2), "both connections to be open");
        // Incompressible-looking, 64 KB per event: a few megabytes fill the socket buffers of the stalled client.
        var content = string.Concat(Enumerable.Range(0, 64 * 1024 / 32).Select(i => Guid.NewGuid().ToString("N")));
        var received = new List<long>();

        // The server lets go of the stalled connection by itself (the send watchdog), while the client reads nothing.
        var published = 0;
        while (Open() == 2 && published < MaxFloodEvents)
        {
            await publisher.PublishAsync(new AgentOutputEvent
            {
                WorkflowId = workflow.WorkflowId, AgentId = FloodAgent, AgentType = "research", Content = content, Confidence = 0.9,
            }).DefaultTimeout();
            published++;
            // Lockstep with the healthy client: its queue never fills, so only the stalled one can fall behind.
            received.Add(await ReadFloodEventAsync(healthy, content));
        }

        // The last event may have filled the buffers; the watchdog then needs up to one send timeout and a quarter.
        await Poll.UntilAsync(
            () => Task.FromResult(Open() == 1),
            $"the server to drop the stalled connection while the healthy one stays ({published} events published)", TimeSpan.FromSeconds(30));

        Assert.Equal(published, received.Count);
        Assert.Equal(received.Order(), received);
        Assert.Equal(received.Count, received.Distinct().Count());

        var (stalledCount, ended) = await DrainAsync(stalled);
        Assert.True(stalledCount < published, $"the stalled client got all {stalledCount} events");
        Assert.True(ended is "aborted" or "1013", ended);
        Assert.Equal(1, Open());
        await healthy.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).DefaultTimeout();
    }

    [Fact]
    public async Task AClientThatFallsFurtherBehindThanItsQueueGetsEverythingUpToTheCutThen1013AndResumesWithoutLoss()
    {
        // The send timeout is far away: here only the bound of the client's queue cuts it off, not the watchdog.
        var logs = new LogCapture();
        await using var app = CreateServer(
            ("Felix:Compat:SendTimeout", "00:10:00"),
            ("Felix:Streaming:SendQueueCapacity", "16"),
            ("Felix:Workflows:ShutdownGracePeriod", "00:00:00"));
        app.WithServices(s => s.AddSingleton<ILoggerProvider>(logs));
        using var client = app.CreateApiClient();
        var workflowId = await client.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        await client.WaitForPendingApprovalAsync(workflowId);
        var last = (await client.ReadEventsAsync(workflowId))[^1].EventId;
        var publisher = app.Services.GetRequiredService<EventPublisher>();

        // A small receive buffer: the server's sends soon wait on TCP flow control while the client reads nothing.
        using var behind = await ConnectWithSmallBuffersAsync(app, WorkflowPath(workflowId, $"last_event_id={last}"));
        Assert.Equal("connected", (await behind.ReceiveJsonAsync())!.Type());
        Assert.Equal("workflow_status", (await behind.ReceiveJsonAsync())!.Type());
        // 64 KB per event, 16 MB in all: far more than the socket buffers and the queue of 16 hold.
        var content = string.Concat(Enumerable.Range(0, 64 * 1024 / 32).Select(i => Guid.NewGuid().ToString("N")));
        var published = new List<WorkflowEvent>();
        for (var i = 0; i < 256; i++)
        {
            published.Add(await publisher.PublishAsync(new AgentOutputEvent
            {
                WorkflowId = workflowId, AgentId = FloodAgent, AgentType = "research", Content = content, Confidence = 0.9,
            }).DefaultTimeout());
        }

        var read = (await behind.ReadToCloseAsync(TimeSpan.FromSeconds(30))).Events();
        Assert.Equal(CompatCloseCodes.SlowConsumer, behind.CloseStatus);
        Assert.Equal(CompatCloseCodes.SlowConsumerReason, behind.CloseStatusDescription);
        await behind.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).DefaultTimeout();
        // What it got is the start of the flood, whole and in order, with no gap: the cut is where it fell behind.
        Assert.InRange(read.Count, 1, published.Count - 1);
        Assert.Equal(published.Take(read.Count).Select(e => e.EventId), read.Select(f => f.EventId()));
        Assert.All(read, f => Assert.Equal(content, f.Str("content")));
        Assert.Contains(logs.Entries, e => e.EventId == 3003 && e.Level == LogLevel.Warning && e.Message.Contains(workflowId, StringComparison.Ordinal));

        // As the close reason says: the client reconnects with the last event it read and gets the rest.
        using var resumed = await app.ConnectRawAsync(WorkflowPath(workflowId, $"last_event_id={read[^1].EventId()}"));
        var rest = new List<string>();
        while (rest.Count < published.Count - read.Count)
        {
            var frame = await resumed.ReceiveJsonAsync(TimeSpan.FromSeconds(30))
                ?? throw new InvalidOperationException($"closed early: {resumed.CloseStatus} {resumed.CloseStatusDescription}");
            if (frame["event_id"] is not null)
            {
                rest.Add(frame.EventId());
            }
        }

        Assert.Equal(published.Skip(read.Count).Select(e => e.EventId), rest);
        await resumed.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).DefaultTimeout();
    }

    /// <summary>Reads up to the next flood event, checks it whole and returns its sequence.</summary>
    private static async Task<long> ReadFloodEventAsync(WebSocket socket, string content)
    {
        while (true)
        {
            var frame = await socket.ReceiveJsonAsync(TimeSpan.FromSeconds(30))
                ?? throw new InvalidOperationException($"closed early: {socket.CloseStatus} {socket.CloseStatusDescription}");
            if (frame.Type() == "agent_output" && frame.Str("agent_id") == FloodAgent)
            {
                Assert.Equal(content, frame.Str("content"));
                return frame.Sequence();
            }
        }
    }

    /// <summary>Reads what the stalled client's buffers hold, then how the connection ended.</summary>
    private static async Task<(int Count, string Ended)> DrainAsync(WebSocket socket)
    {
        var count = 0;
        try
        {
            while (await socket.ReceiveJsonAsync() is { } frame)
            {
                count += frame.Type() == "agent_output" ? 1 : 0;
            }

            return (count, ((int?)socket.CloseStatus)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no status");
        }
        catch (WebSocketException)
        {
            return (count, "aborted");
        }
    }
}
