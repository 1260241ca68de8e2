using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Server.Platform;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Security;

public sealed class LimitsTests
{
    [Fact]
    public async Task WorkflowCreationIsRateLimitedPerKeyWith429AndRetryAfter()
    {
        await using var app = TenantApplication.Create(new Dictionary<string, string?> { ["Felix:Limits:WorkflowsPerMinute"] = "2" });
        using var a = app.CreateApiClient(TenantApplication.KeyA);
        using var b = app.CreateApiClient(TenantApplication.KeyB);

        await a.CreateWorkflowAsync("one", maxSteps: 1);
        await a.CreateWorkflowAsync("two", maxSteps: 1);
        var third = await a.PostAsJsonAsync("api/v1/workflows", new { task = "three" }).DefaultTimeout();
        var otherTenant = await b.PostAsJsonAsync("api/v1/workflows", new { task = "B is not limited by A" }).DefaultTimeout();

        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.True(third.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal("Too many requests", JsonNode.Parse(await third.Content.ReadAsStringAsync())!["title"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Accepted, otherTenant.StatusCode);
    }

    [Fact]
    public async Task ConnectionAttemptsAreRateLimited()
    {
        await using var app = TenantApplication.Create(new Dictionary<string, string?> { ["Felix:Limits:ConnectionAttemptsPerMinute"] = "2" });
        using var client = app.CreateApiClient(TenantApplication.KeyA);

        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 3; i++)
        {
            responses.Add(await client.PostAsync("hubs/workflows/negotiate?negotiateVersion=1", null).DefaultTimeout());
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], responses.Select(r => r.StatusCode));
        var refused = responses[2];
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        Assert.Equal(("Too many requests", 429), (problem["title"]!.GetValue<string>(), problem["status"]!.GetValue<int>()));
    }

    /// <summary>The limits are partitions of one shared limiter: a principal's budgets must stay apart.</summary>
    [Fact]
    public async Task WorkflowCreationsAndConnectionAttemptsAreCountedApart()
    {
        await using var app = TenantApplication.Create(new Dictionary<string, string?>
        {
            ["Felix:Limits:WorkflowsPerMinute"] = "2",
            ["Felix:Limits:ConnectionAttemptsPerMinute"] = "2",
            ["Felix:Limits:PrincipalConnectionAttemptsPerMinute"] = "2",
            ["Felix:Limits:MaxConnectionsPerPrincipal"] = "2",
        });
        using var client = app.CreateApiClient(TenantApplication.KeyA);

        await client.CreateWorkflowAsync("one", maxSteps: 1);
        await client.CreateWorkflowAsync("two", maxSteps: 1);
        var attempts = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            attempts.Add((await client.PostAsync("hubs/workflows/negotiate?negotiateVersion=1", null).DefaultTimeout()).StatusCode);
        }

        var third = await client.PostAsJsonAsync("api/v1/workflows", new { task = "three" }).DefaultTimeout();

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], attempts);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
    }

    [Fact]
    public async Task AnEventStreamRefusedByALimitGets429NotAServerError()
    {
        await using var app = TenantApplication.Create(new Dictionary<string, string?> { ["Felix:Limits:ConnectionAttemptsPerMinute"] = "1" });
        using var client = app.CreateApiClient(TenantApplication.KeyA);
        (await client.PostAsync("hubs/workflows/negotiate?negotiateVersion=1", null).DefaultTimeout()).EnsureSuccessStatusCode();
        using var request = new HttpRequestMessage(HttpMethod.Get, "hubs/workflows?id=any");
        request.Headers.Accept.ParseAdd("text/event-stream");

        using var refused = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
    }

    [Fact]
    public async Task EveryStreamingEndpointGoesThroughAdmission()
    {
        await using var app = new FelixApplication();
        _ = app.Server;
        var routes = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } path && (path.StartsWith("/hubs", StringComparison.Ordinal) || path.StartsWith("/api/v1/ws", StringComparison.Ordinal)))
            .ToList();

        Assert.Contains(routes, e => e.RoutePattern.RawText!.StartsWith("/hubs/workflows", StringComparison.Ordinal));
        Assert.Contains(routes, e => e.RoutePattern.RawText!.StartsWith("/hubs/system", StringComparison.Ordinal));
        Assert.Contains(routes, e => e.RoutePattern.RawText!.StartsWith("/api/v1/ws/workflows", StringComparison.Ordinal));
        Assert.Contains(routes, e => e.RoutePattern.RawText!.StartsWith("/api/v1/ws/system", StringComparison.Ordinal));
        Assert.All(routes, e => Assert.NotNull(e.Metadata.GetMetadata<StreamingEndpointMetadata>()));
    }

    [Fact]
    public async Task OpenConnectionsPerKeyAreCapped()
    {
        await using var app = TenantApplication.Create(new Dictionary<string, string?> { ["Felix:Limits:MaxConnectionsPerPrincipal"] = "2" }, kestrel: true);
        using var client = app.CreateApiClient(TenantApplication.KeyA);
        var created = await client.CreateWorkflowAsync("Watched by too many", maxSteps: 1);
        var path = $"api/v1/ws/workflows/{created.WorkflowId}?api_key={TenantApplication.KeyA}&types=all";

        using var first = await app.ConnectRawAsync(path + "&x=1");
        using var second = await app.ConnectRawAsync(path + "&x=2");
        var third = await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => app.ConnectRawAsync(path + "&x=3"));
        using var otherTenant = await app.ConnectRawAsync($"api/v1/ws/system/events?api_key={TenantApplication.AdminKey}");

        Assert.Contains("429", third.Message, StringComparison.Ordinal);
        Assert.Equal("connected", (await otherTenant.ReceiveJsonAsync())!.Type());
    }

    [Fact]
    public async Task TheServerWideCapCountsHubAndRawConnectionsAndAClosedOneGivesItsPlaceBack()
    {
        await using var app = TenantApplication.Create(new Dictionary<string, string?> { ["Felix:Limits:MaxConnections"] = "2" }, kestrel: true);
        using var client = app.CreateApiClient(TenantApplication.KeyA);
        var created = await client.CreateWorkflowAsync("Watched at the cap", maxSteps: 1);
        var pathB = $"api/v1/ws/system/events?api_key={TenantApplication.AdminKey}";

        await using var hub = app.CreateHubConnection("json", key: TenantApplication.KeyA);
        await hub.StartAsync().DefaultTimeout();
        using var raw = await app.ConnectRawAsync($"api/v1/ws/workflows/{created.WorkflowId}?api_key={TenantApplication.KeyA}&types=all");
        var refused = await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => app.ConnectRawAsync(pathB));
        await hub.StopAsync().DefaultTimeout();

        Assert.Contains("429", refused.Message, StringComparison.Ordinal);
        WebSocket? admitted = null;
        await Poll.UntilAsync(async () =>
        {
            try
            {
                admitted = await app.ConnectRawAsync(pathB);
                return true;
            }
            catch (WebSocketException)
            {
                return false;
            }
        }, "the stopped hub connection's place");
        using (admitted)
        {
            Assert.Equal("connected", (await admitted!.ReceiveJsonAsync())!.Type());
        }
    }

    [Fact]
    public async Task HubMessagesOverTheSizeLimitCloseTheConnection()
    {
        await using var app = new FelixApplication();
        await using var hub = app.CreateHubConnection("json");
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };
        await hub.StartAsync().DefaultTimeout();

        _ = hub.InvokeAsync(nameof(IWorkflowHub.Unsubscribe), new string('x', 64 * 1024));
        await closed.Task.DefaultTimeout();

        Assert.Equal(HubConnectionState.Disconnected, hub.State);
    }
}
