using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Bench.Soak;

/// <summary>
/// <c>/hubs/workflows</c>, JSON or (three in ten) MessagePack: 1–5 operations on recent workflows (<c>Subscribe</c> then
/// mostly <c>Unsubscribe</c>, <c>StreamEvents</c> broken off after 1–50 events or a short timeout), then stop or abort.
/// </summary>
internal static class HubLoop
{
    private static readonly string[] ClientMethods =
        ["AgentSpawned", "AgentOutput", "AgentOutputDelta", "WorkflowStatus", "WorkflowComplete", "WorkflowError", "SynthesisStarted"];

    public static async Task RunAsync(SoakContext soak)
    {
        while (soak.Running)
        {
            await soak.GuardAsync("hub", () => OnceAsync(soak));
            await Task.Delay(SoakContext.Random.Next(50, 400));
        }
    }

    private static async Task OnceAsync(SoakContext soak)
    {
        var random = SoakContext.Random;
        ClientWebSocket? socket = null;
        var messagePack = random.NextDouble() < 0.3;
        await using var connection = HubConnections.Build(soak, "/hubs/workflows", messagePack, s => socket = s);
        foreach (var method in ClientMethods)
        {
            connection.On<object>(method, _ => { });
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await connection.StartAsync(cts.Token);
        soak.Count($"hub.open.{(messagePack ? "msgpack" : "json")}");
        var operations = random.Next(1, 6);
        for (var i = 0; i < operations; i++)
        {
            var id = soak.PickRecent();
            if (id is null)
            {
                break;
            }

            // Subscribe's result and StreamEvents' items are read as JsonElement, which only the JSON protocol can give:
            // MessagePack connections churn the group membership through Unsubscribe alone.
            switch (messagePack ? 2 : random.Next(3))
            {
                case 0:
                    await SubscribeAsync(soak, connection, id, cts.Token);
                    break;
                case 1:
                    await StreamAsync(soak, connection, id);
                    break;
                default:
                    await connection.InvokeAsync("Unsubscribe", id, cts.Token);
                    soak.Count("hub.unsubscribe-only");
                    break;
            }
        }

        await Task.Delay(random.Next(0, 2000));
        await HubConnections.EndAsync(soak, "hub", connection, socket);
    }

    private static async Task SubscribeAsync(SoakContext soak, HubConnection connection, string id, CancellationToken cancellationToken)
    {
        await connection.InvokeAsync<JsonElement>("Subscribe", id, (long?)null, cancellationToken);
        soak.Count("hub.subscribe");
        await Task.Delay(SoakContext.Random.Next(50, 1500), cancellationToken);
        if (SoakContext.Random.NextDouble() < 0.6)
        {
            await connection.InvokeAsync("Unsubscribe", id, cancellationToken);
            soak.Count("hub.unsubscribe");
        }
    }

    private static async Task StreamAsync(SoakContext soak, HubConnection connection, string id)
    {
        var random = SoakContext.Random;
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(random.Next(100, 4000)));
        var take = random.Next(1, 50);
        var types = random.NextDouble() < 0.5 ? null : new[] { "all" };
        var read = 0;
        try
        {
            await foreach (var _ in connection.StreamAsync<JsonElement>("StreamEvents", id, (long?)null, types, cts.Token))
            {
                if (++read >= take)
                {
                    break;
                }
            }

            soak.Count(read >= take ? "hub.stream.broken-off" : "hub.stream.completed");
        }
        catch (OperationCanceledException)
        {
            soak.Count("hub.stream.cancelled");
        }
    }
}
