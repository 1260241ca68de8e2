using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Hubs;

/// <summary>A hub client that stops reading is disconnected; the others on the same workflow keep full speed.</summary>
public sealed class HubSlowConsumerTests
{
    // 400 events of 64 KB: more than loopback socket buffers and the transport's pipes hold for a reader that stopped.
    private const int FloodEvents = 400;
    private const char RecordSeparator = '\u001e';

    [Fact]
    public async Task StalledHubClientIsDisconnectedWhileAHealthyOneReceivesEverything()
    {
        await using var app = new FelixApplication(
            new Dictionary<string, string?>
            {
                // The engine's own run crawls; the flood below is published directly.
                ["Felix:Llm:OfflineTokenDelay"] = "00:00:01",
                // Short enough to end the stalled client while the flood goes on, long enough that the healthy one's
                // writes (64 KB each, past the pipes' pause threshold) never pass it on a loaded machine: at 0.5 s one
                // did in CI, and the server rightly cut it off as slow (at 20 ms it happens in most runs).
                ["Felix:Streaming:SlowConsumerTimeout"] = "00:00:03",
                ["Felix:Workflows:ShutdownGracePeriod"] = "00:00:00",
            },
            kestrel: true);
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Flood the hub", maxSteps: 3);
        var publisher = app.Services.GetRequiredService<EventPublisher>();

        // The stalled client speaks the SignalR JSON protocol by hand so the test decides when it stops reading.
        using var stalled = await app.ConnectRawAsync("hubs/workflows");
        await SendRecordAsync(stalled, "{\"protocol\":\"json\",\"version\":1}");
        Assert.Equal("{}", (await ReadRecordsAsync(stalled, 1))[0]);
        await SendRecordAsync(stalled, $"{{\"type\":1,\"invocationId\":\"1\",\"target\":\"{nameof(IWorkflowHub.Subscribe)}\",\"arguments\":[\"{workflow.WorkflowId}\",null]}}");
        await ReadUntilCompletionAsync(stalled);

        await using var healthy = app.CreateHubConnection("messagepack");
        using var delivered = new SemaphoreSlim(0);
        var received = new List<AgentOutputEvent>();
        healthy.On<AgentOutputEvent>(nameof(IWorkflowClient.AgentOutput), e =>
        {
            if (e.AgentId == "flood_001")
            {
                lock (received)
                {
                    received.Add(e);
                }

                delivered.Release();
            }
        });
        var healthyClosed = "open";
        healthy.Closed += ex =>
        {
            healthyClosed = $"closed: {ex?.Message ?? "no error"}";
            delivered.Release();
            return Task.CompletedTask;
        };
        await healthy.StartAsync().DefaultTimeout();
        await healthy.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), workflow.WorkflowId, null).DefaultTimeout();

        var content = string.Concat(Enumerable.Range(0, 64 * 1024 / 32).Select(_ => Guid.NewGuid().ToString("N")));
        for (var i = 0; i < FloodEvents; i++)
        {
            await publisher.PublishAsync(new AgentOutputEvent
            {
                WorkflowId = workflow.WorkflowId, AgentId = "flood_001", AgentType = "research", Content = content, Confidence = 0.9,
            }).DefaultTimeout();
            Assert.True(await delivered.WaitAsync(TestTimeouts.Default), $"the healthy client did not receive event {i + 1} (connection {healthyClosed})");
            Assert.True(healthyClosed == "open", $"the healthy client's connection {healthyClosed} at event {i + 1}");
        }

        Assert.Equal(FloodEvents, received.Count);
        Assert.Equal(received.Select(e => e.Sequence).Order(), received.Select(e => e.Sequence));
        Assert.Equal(HubConnectionState.Connected, healthy.State);
        await WaitForHubConnectionsAsync(client, expected: 1);

        var (stalledCount, ended) = await DrainAsync(stalled);
        Assert.True(stalledCount < FloodEvents, $"the stalled client got all {stalledCount} events");
        Assert.True(ended is "aborted" or "closed", ended);
    }

    /// <summary>Waits (boundedly) until the server counts only <paramref name="expected"/> hub connections.</summary>
    private static Task WaitForHubConnectionsAsync(HttpClient client, int expected) =>
        Poll.UntilAsync(
            async () => JsonNode.Parse(await client.GetStringAsync("api/v1/system/status").DefaultTimeout())!["connections"]!["signalr"]!.GetValue<int>() == expected,
            $"the server to count {expected} hub connection(s): the stalled one dropped",
            TestTimeouts.Default);

    private static Task SendRecordAsync(WebSocket socket, string json) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json + RecordSeparator), WebSocketMessageType.Text, true, CancellationToken.None).DefaultTimeout();

    private static async Task<List<string>> ReadRecordsAsync(WebSocket socket, int atLeast)
    {
        var records = new List<string>();
        while (records.Count < atLeast)
        {
            var text = await socket.ReceiveTextAsync() ?? throw new InvalidOperationException("closed");
            records.AddRange(text.Split(RecordSeparator, StringSplitOptions.RemoveEmptyEntries));
        }

        return records;
    }

    private static async Task ReadUntilCompletionAsync(WebSocket socket)
    {
        while (true)
        {
            foreach (var record in await ReadRecordsAsync(socket, 1))
            {
                var message = JsonNode.Parse(record)!;
                if (message["type"]!.GetValue<int>() == 3)
                {
                    Assert.Null(message["error"]);
                    return;
                }
            }
        }
    }

    /// <summary>Reads what the stalled client's buffers hold, then how the connection ended.</summary>
    private static async Task<(int Count, string Ended)> DrainAsync(WebSocket socket)
    {
        var count = 0;
        try
        {
            while (await socket.ReceiveTextAsync(TimeSpan.FromSeconds(30)) is { } text)
            {
                count += text.Split(RecordSeparator, StringSplitOptions.RemoveEmptyEntries)
                    .Count(r => r.Contains($"\"target\":\"{nameof(IWorkflowClient.AgentOutput)}\"", StringComparison.Ordinal) && r.Contains("flood_001", StringComparison.Ordinal));
            }

            return (count, "closed");
        }
        catch (WebSocketException)
        {
            return (count, "aborted");
        }
    }
}
