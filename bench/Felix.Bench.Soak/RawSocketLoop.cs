using System.Net.WebSockets;
using System.Text;

namespace Felix.Bench.Soak;

/// <summary>
/// The raw WebSocket endpoint: a recent workflow's socket (running or finished) or, one time in five, the system socket
/// with <c>ping</c>/<c>stats</c>; half with permessage-deflate, some with <c>types=all</c>. Reads 1–40 frames, then
/// closes, disposes or aborts.
/// </summary>
internal static class RawSocketLoop
{
    public static async Task RunAsync(SoakContext soak)
    {
        while (soak.Running)
        {
            await soak.GuardAsync("rawws", () => OnceAsync(soak));
            await Task.Delay(SoakContext.Random.Next(50, 400));
        }
    }

    private static async Task OnceAsync(SoakContext soak)
    {
        var random = SoakContext.Random;
        var system = random.NextDouble() < 0.2;
        var id = system ? null : soak.PickRecent();
        if (!system && id is null)
        {
            await Task.Delay(500);
            return;
        }

        using var ws = new ClientWebSocket();
        if (random.NextDouble() < 0.5)
        {
            ws.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
        }

        var path = system ? "/api/v1/ws/system/events" : $"/api/v1/ws/workflows/{id}";
        var types = random.NextDouble() < 0.3 ? "&types=all" : "";
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await ws.ConnectAsync(soak.WebSocketUri($"{path}?api_key={Uri.EscapeDataString(soak.Options.ApiKey)}{types}"), cts.Token);
        soak.Count(system ? "rawws.system.open" : "rawws.workflow.open");
        if (system)
        {
            await ws.SendAsync(Encoding.UTF8.GetBytes(random.NextDouble() < 0.5 ? "ping" : "stats"), WebSocketMessageType.Text, true, cts.Token);
        }

        var buffer = new byte[64 * 1024];
        var frames = random.Next(1, 40);
        for (var i = 0; i < frames && ws.State == WebSocketState.Open; i++)
        {
            using var read = new CancellationTokenSource(TimeSpan.FromSeconds(system ? 2 : 10));
            try
            {
                var result = await ws.ReceiveAsync(buffer, read.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    soak.Count("rawws.server-closed");
                    break;
                }
            }
            catch (OperationCanceledException)
            {
                soak.Count("rawws.read-timeout");
                break;
            }
        }

        if (ws.State == WebSocketState.Aborted)
        {
            return;
        }

        switch (random.Next(3))
        {
            case 0:
                ws.Abort();
                soak.Count("rawws.abort");
                break;
            case 1 when ws.State == WebSocketState.Open:
                await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token);
                soak.Count("rawws.close");
                break;
            default:
                soak.Count("rawws.dispose");
                break;
        }
    }
}
