using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Api;

public sealed class SystemApiTests
{
    [Fact]
    public async Task StatusReportsEngineQueueConnectionsVersionAndUptime()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();

        var status = JsonNode.Parse(await client.GetStringAsync("api/v1/system/status").DefaultTimeout())!.AsObject();

        Assert.Equal("running", status["status"]!.GetValue<string>());
        Assert.Equal("v1", status["api_version"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(status["felix_version"]!.GetValue<string>()));
        Assert.True(status["uptime_seconds"]!.GetValue<double>() >= 0);
        Assert.Equal(0, status["queued_workflows"]!.GetValue<int>());
        Assert.Equal(4, status["max_concurrent_workflows"]!.GetValue<int>());
        Assert.Equal("offline", status["llm_provider"]!.GetValue<string>());
        Assert.Equal(0, status["connections"]!["websocket"]!.GetValue<int>());
        Assert.True(status["ready"]!.GetValue<bool>());
        Assert.Empty(status["not_ready"]!.AsArray());
    }

    // The engine still runs while it drains, so "running" alone would tell an operator nothing is wrong.
    [Fact]
    public async Task StatusSaysTheNodeIsNotReadyAndWhyWhileItDrains()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.100",
            ["Felix:Workflows:ShutdownGracePeriod"] = "00:01:00",
        });
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Keep the drain waiting", maxSteps: 3);
        await client.WaitForStatusAsync(workflow.WorkflowId, Felix.Contracts.WorkflowStatuses.Running);
        var engine = app.Services.GetRequiredService<Felix.Server.Workflows.WorkflowEngine>();

        var drain = engine.StopAsync(CancellationToken.None);
        await Poll.UntilAsync(async () => (await client.GetAsync("health/ready").DefaultTimeout()).StatusCode == HttpStatusCode.ServiceUnavailable,
            "readiness to answer 503 once the drain began");
        var status = JsonNode.Parse(await client.GetStringAsync("api/v1/system/status").DefaultTimeout())!.AsObject();
        await client.DeleteAsync($"api/v1/workflows/{workflow.WorkflowId}").DefaultTimeout();
        await drain.DefaultTimeout();

        Assert.False(status["ready"]!.GetValue<bool>());
        Assert.Equal(["engine: The node is shutting down."], status["not_ready"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Theory]
    [InlineData("api/v1/system/start")]
    [InlineData("api/v1/system/stop")]
    public async Task CompatibilityCommandsAnswer200(string path)
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();

        var response = await client.PostAsync(path, null).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("running", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task HealthOpenApiAndDocsAreServed()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = "secret" });
        using var anonymous = app.CreateClient();

        var health = await anonymous.GetAsync("health").DefaultTimeout();
        var openApi = JsonNode.Parse(await anonymous.GetStringAsync("openapi/v1.json").DefaultTimeout())!;
        var docs = await anonymous.GetAsync("docs/").DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.NotNull(openApi["paths"]!["/api/v1/workflows"]);
        Assert.NotNull(openApi["paths"]!["/api/v1/workflows/{workflowId}"]!["delete"]);
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Contains("<html", await docs.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task PluginsListTheThreeBuiltInRolesWithSpawnRanges()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();

        var body = JsonNode.Parse(await client.GetStringAsync("api/v1/agents/plugins").DefaultTimeout())!;
        var missing = await client.GetAsync("api/v1/agents/plugins/wizard").DefaultTimeout();

        var plugins = body["plugins"]!.AsArray();
        Assert.Equal(["research", "analysis", "critic"], plugins.Select(p => p!["agent_type"]!.GetValue<string>()));
        Assert.All(plugins, p => Assert.Equal(2, p!["spawn_range"]!.AsArray().Count));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
