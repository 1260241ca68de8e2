using System.Text;
using System.Text.Json;

namespace Felix.Bench.Soak;

/// <summary>
/// Creates a workflow over REST (2–5 steps), cancels a quarter of them after 0.1–2.5 s, and waits for the end, so each
/// creator keeps about one workflow running.
/// </summary>
internal static class CreatorLoop
{
    private static readonly string[] Terminal = ["completed", "failed", "cancelled"];

    public static async Task RunAsync(SoakContext soak, int slot)
    {
        while (soak.Running)
        {
            await soak.GuardAsync("create", () => OnceAsync(soak, slot));
            await Task.Delay(SoakContext.Random.Next(100, 600));
        }
    }

    private static async Task OnceAsync(SoakContext soak, int slot)
    {
        var random = SoakContext.Random;
        var body = JsonSerializer.Serialize(new { task = $"soak task {slot} {random.Next(1000)}: compare caching strategies", max_steps = random.Next(2, 6) });
        using var created = await soak.Http.PostAsync("/api/v1/workflows", new StringContent(body, Encoding.UTF8, "application/json"));
        soak.Count($"create.{(int)created.StatusCode}");
        if (!created.IsSuccessStatusCode)
        {
            await Task.Delay(2000);
            return;
        }

        using var doc = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var id = doc.RootElement.GetProperty("workflow_id").GetString()!;
        soak.Created(id);
        if (random.NextDouble() < 0.25)
        {
            await Task.Delay(random.Next(100, 2500));
            using var cancelled = await soak.Http.DeleteAsync($"/api/v1/workflows/{id}");
            soak.Count($"cancel.{(int)cancelled.StatusCode}");
        }

        for (var i = 0; i < 600; i++)
        {
            using var got = await soak.Http.GetAsync($"/api/v1/workflows/{id}");
            using var workflow = JsonDocument.Parse(await got.Content.ReadAsStringAsync());
            var status = workflow.RootElement.GetProperty("status").GetString();
            if (Terminal.Contains(status))
            {
                soak.Count($"end.{status}");
                return;
            }

            await Task.Delay(300);
        }

        soak.Count("end.not-seen");
    }
}
