using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>A client that stops reading is dropped; it never holds back the others on the same workflow.</summary>
public sealed class CompatSlowConsumerTests
{
    private const int FloodEvents = 200;
    private const string FloodAgent = "flood_001";

    [Fact]
    public async Task StalledClientIsDroppedWhileAHealthyOneReceivesEverything()
    {
        // The model is slowed to a crawl so the engine's own run stays open; the flood is published directly.
        await using var app = CreateServer(
            ("Felix:Llm:OfflineTokenDelay", "00:00:01"),
            ("Felix:Compat:SendTimeout", "00:00:00.5"),
            ("Felix:Streaming:SendQueueCapacity", "16"));
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", 3);
        var publisher = app.Services.GetRequiredService<EventPublisher>();

        using var stalled = await app.ConnectRawAsync(WorkflowPath(workflow.WorkflowId));
        using var healthy = await app.ConnectRawAsync(WorkflowPath(workflow.WorkflowId));
        using var delivered = new SemaphoreSlim(0);
        var healthyRead = ReadFloodAsync(healthy, delivered);

        // Incompressible-looking, 64 KB per event: a few megabytes fill the socket buffers of the stalled client.
        var content = string.Concat(Enumerable.Range(0, 64 * 1024 / 32).Select(i => Guid.NewGuid().ToString("N")));
        for (var i = 0; i < FloodEvents; i++)
        {
            await publisher.PublishAsync(new AgentOutputEvent
            {
                WorkflowId = workflow.WorkflowId, AgentId = FloodAgent, AgentType = "research", Content = content, Confidence = 0.9,
            }).DefaultTimeout();
            // Lockstep with the healthy client: its queue never fills, so only the stalled one can fall behind.
            Assert.True(await delivered.WaitAsync(TestTimeouts.Default), $"the healthy client did not receive event {i + 1}");
        }

        var received = await healthyRead.DefaultTimeout(TimeSpan.FromSeconds(60));
        Assert.Equal(FloodEvents, received.Count);
        Assert.Equal(received.Select(e => e.Sequence()).Order(), received.Select(e => e.Sequence()));
        Assert.All(received, e => Assert.Equal(content, e.Str("content")));

        // The server lets go of the stalled connection by itself (the send watchdog), before the client reads anything.
        var connections = app.Services.GetRequiredService<Felix.Server.Compat.CompatConnections>();
        await Poll.UntilAsync(
            () => Task.FromResult(connections.PerWorkflow.GetValueOrDefault(workflow.WorkflowId) == 1),
            "the server to drop the stalled connection while the healthy one stays", TimeSpan.FromSeconds(30));

        var (stalledCount, ended) = await DrainAsync(stalled);
        Assert.True(stalledCount < FloodEvents, $"the stalled client got all {stalledCount} events");
        Assert.True(ended is "aborted" or "1013", ended);
        await healthy.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).DefaultTimeout();
    }

    private static async Task<List<JsonObject>> ReadFloodAsync(WebSocket socket, SemaphoreSlim delivered)
    {
        var flood = new List<JsonObject>();
        while (flood.Count < FloodEvents)
        {
            var frame = await socket.ReceiveJsonAsync(TimeSpan.FromSeconds(30))
                ?? throw new InvalidOperationException($"closed early: {socket.CloseStatus} {socket.CloseStatusDescription}");
            if (frame.Type() == "agent_output" && frame.Str("agent_id") == FloodAgent)
            {
                flood.Add(frame);
                delivered.Release();
            }
        }

        return flood;
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
