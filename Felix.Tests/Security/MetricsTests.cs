using System.Net;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Security;

[Collection(ProcessWideMetricsCollection.Name)]
public sealed class MetricsTests
{
    [Fact]
    public async Task MetricsEndpointShowsCountersMoving()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var before = await client.GetStringAsync("metrics").DefaultTimeout();

        var created = await client.CreateWorkflowAsync("Count my events", maxSteps: 2);
        await client.WaitForTerminalAsync(created.WorkflowId);
        using var socket = await app.ConnectRawAsync($"api/v1/ws/workflows/{created.WorkflowId}");
        await socket.ReadToCloseAsync();
        var after = await client.GetStringAsync("metrics").DefaultTimeout();

        Assert.True(Value(after, "felix_events_published_total") > Value(before, "felix_events_published_total"));
        Assert.True(Value(after, "felix_llm_calls_total") >= 3);
        Assert.True(Value(after, "felix_llm_tokens_total") > 0);
        // Durations in seconds, as OpenTelemetry's conventions have them; the runtime's own metrics beside Felix's.
        Assert.Contains("felix_events_fanout_duration_seconds_bucket", after, StringComparison.Ordinal);
        Assert.Contains("felix_llm_duration_seconds_bucket", after, StringComparison.Ordinal);
        Assert.Contains("dotnet_gc_collections_total", after, StringComparison.Ordinal);
        Assert.Matches("(?m)^process_cpu_time_seconds_total", after); // the process's own, not the runtime's dotnet_process_*
        Assert.Contains("felix_workflows_status_changes_total{", after, StringComparison.Ordinal);
        Assert.Contains("status=\"completed\"", after, StringComparison.Ordinal);
        Assert.Contains("felix_connections_open{", after, StringComparison.Ordinal);
        Assert.Contains("felix_workflows_queued", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MetricsNeedTheAdminScopeWhenKeysAreConfigured()
    {
        await using var app = TenantApplication.Create();

        Assert.Equal(HttpStatusCode.Unauthorized, (await app.CreateClient().GetAsync("metrics").DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await app.CreateApiClient(TenantApplication.KeyA).GetAsync("metrics").DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.CreateApiClient(TenantApplication.AdminKey).GetAsync("metrics").DefaultTimeout()).StatusCode);
    }

    [Fact]
    public async Task MetricsCanBeOpenedToScrapersWithoutAKey()
    {
        await using var app = TenantApplication.Create(new Dictionary<string, string?> { ["Felix:Observability:AnonymousMetrics"] = "true" });

        Assert.Equal(HttpStatusCode.OK, (await app.CreateClient().GetAsync("metrics").DefaultTimeout()).StatusCode);
    }

    [Fact]
    public async Task HealthEndpointsReportLiveAndReady()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateClient();

        var live = await client.GetAsync("health/live").DefaultTimeout();
        var ready = await client.GetAsync("health/ready").DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", System.Text.Json.Nodes.JsonNode.Parse(await ready.Content.ReadAsStringAsync())!["status"]!.GetValue<string>());
    }

    /// <summary>Sums every sample of a metric (all label sets). A sample line is <c>name{labels} value [timestamp]</c>.</summary>
    private static double Value(string exposition, string metric) =>
        exposition.Split('\n')
            .Where(line => line.StartsWith(metric + "{", StringComparison.Ordinal) || line.StartsWith(metric + " ", StringComparison.Ordinal))
            .Sum(line =>
            {
                var afterLabels = line[(line.LastIndexOf('}') + 1 is var end && end > 0 ? end : metric.Length)..];
                return double.Parse(afterLabels.Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            });
}
