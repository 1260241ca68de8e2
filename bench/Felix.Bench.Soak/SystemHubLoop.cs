using System.Net.WebSockets;

namespace Felix.Bench.Soak;

/// <summary><c>/hubs/system</c> (JSON or MessagePack): connect, listen 0.2–5 s, then stop or abort.</summary>
internal static class SystemHubLoop
{
    public static async Task RunAsync(SoakContext soak)
    {
        while (soak.Running)
        {
            await soak.GuardAsync("syshub", () => OnceAsync(soak));
            await Task.Delay(SoakContext.Random.Next(200, 1500));
        }
    }

    private static async Task OnceAsync(SoakContext soak)
    {
        ClientWebSocket? socket = null;
        await using var connection = HubConnections.Build(soak, "/hubs/system", SoakContext.Random.NextDouble() < 0.3, s => socket = s);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await connection.StartAsync(cts.Token);
        soak.Count("syshub.open");
        await Task.Delay(SoakContext.Random.Next(200, 5000));
        await HubConnections.EndAsync(soak, "syshub", connection, socket);
    }
}
