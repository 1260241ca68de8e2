using System.Diagnostics;
using System.Text.Json.Nodes;
using Felix.Server.Observability;
using Felix.Server.Storage;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Storage;

public sealed partial class StorageFaultTests
{
    // A dashboard or script that polls the status as fast as it can must not turn into a write to the disk per call;
    // the full disk still shows in the status once the short-lived answer it reuses has expired.
    [Fact]
    public async Task RapidStatusCallsReuseARecentReadinessProbeAndStillReportAFullDisk()
    {
        await using var app = new FelixApplication(StorageTestSettings.SqliteFile(_directory));
        using var client = app.CreateApiClient();
        var probe = app.Services.GetRequiredService<StorageHealthCheck>();
        Assert.True((await ReadStatusAsync(client))["ready"]!.GetValue<bool>());

        var before = probe.Writes;
        var elapsed = Stopwatch.StartNew();
        for (var i = 0; i < 50; i++)
        {
            await ReadStatusAsync(client);
        }

        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => ReadStatusAsync(client)));
        elapsed.Stop();
        var writes = probe.Writes - before;

        // One probe per lifetime of the reused answer, plus one at each edge; a probe per call would be 100.
        var allowed = 2 + (long)Math.Ceiling(elapsed.Elapsed / RecentReadiness.CacheFor);
        Assert.True(writes <= allowed, $"100 status calls in {elapsed.Elapsed} made {writes} probe writes (at most {allowed} expected)");

        var filler = Path.Combine(_directory, "filler");
        Fill(filler);
        await Poll.UntilAsync(async () => !(await ReadStatusAsync(client))["ready"]!.GetValue<bool>(), "the status to report the full disk");
        var unready = await ReadStatusAsync(client);
        Assert.Contains(unready["not_ready"]!.AsArray(), n => n!.GetValue<string>().StartsWith("storage: The database cannot be written", StringComparison.Ordinal));

        File.Delete(filler);
        await Poll.UntilAsync(async () => (await ReadStatusAsync(client))["ready"]!.GetValue<bool>(), "the status to report the node ready again");
    }

    private static async Task<JsonObject> ReadStatusAsync(HttpClient client) =>
        JsonNode.Parse(await client.GetStringAsync("api/v1/system/status").DefaultTimeout())!.AsObject();
}
