using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Felix.Bench.Soak;

/// <summary>
/// AG-UI runs of 2 steps: half read to <c>RUN_FINISHED</c>, the rest dropped after 1–60 lines, three in ten with
/// <c>cancel_on_disconnect</c>.
/// </summary>
internal static class AgUiLoop
{
    public static async Task RunAsync(SoakContext soak)
    {
        while (soak.Running)
        {
            await soak.GuardAsync("agui", () => OnceAsync(soak));
            await Task.Delay(SoakContext.Random.Next(300, 2000));
        }
    }

    private static async Task OnceAsync(SoakContext soak)
    {
        var random = SoakContext.Random;
        var cancelOnDisconnect = random.NextDouble() < 0.3;
        var body = JsonSerializer.Serialize(new
        {
            threadId = "t" + Guid.NewGuid().ToString("N")[..12],
            runId = "r" + Guid.NewGuid().ToString("N")[..12],
            messages = new[] { new { id = "m1", role = "user", content = "soak agui: design a rate limiter" } },
            state = new { },
            tools = Array.Empty<object>(),
            context = Array.Empty<object>(),
            forwardedProps = cancelOnDisconnect ? (object)new { max_steps = 2, cancel_on_disconnect = true } : new { max_steps = 2 },
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/agui") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var response = await soak.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        soak.Count($"agui.{(int)response.StatusCode}");
        if (!response.IsSuccessStatusCode)
        {
            await Task.Delay(1000);
            return;
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cts.Token);
        using var reader = new StreamReader(stream);
        var lines = random.NextDouble() < 0.5 ? int.MaxValue : random.Next(1, 60);
        for (var i = 0; i < lines; i++)
        {
            var line = await reader.ReadLineAsync(cts.Token);
            if (line is null)
            {
                soak.Count("agui.ended-early");
                return;
            }

            if (line.Contains("RUN_FINISHED", StringComparison.Ordinal))
            {
                soak.Count("agui.finished");
                return;
            }

            if (line.Contains("RUN_ERROR", StringComparison.Ordinal))
            {
                soak.Count("agui.error");
                return;
            }
        }

        soak.Count(cancelOnDisconnect ? "agui.dropped.cancel-on-disconnect" : "agui.dropped");
    }
}
