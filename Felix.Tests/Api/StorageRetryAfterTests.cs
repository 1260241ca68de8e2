using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Server.Compat;
using Felix.Tests.AgUi;
using Felix.Tests.Compat;
using Felix.Tests.Infrastructure;
using Felix.Tests.Scaleout;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Felix.Tests.Api;

/// <summary>
/// The storage-unavailable answers tell a client the configured <c>Felix:Workflows:RetryAfterSeconds</c>, as the busy
/// and shutting-down 503s do, on every transport: REST (header, detail, extension), the hubs, the raw socket's close
/// reason and AG-UI. A real redis-server is stopped under a node configured with 7 seconds.
/// </summary>
public sealed class StorageRetryAfterTests(RedisServer redis) : RedisOutageTest(redis), IClassFixture<RedisServer>
{
    private const int Seconds = 7;

    [Fact]
    public async Task EveryTransportIsToldTheConfiguredSecondsWhileRedisIsDown()
    {
        var node = Cluster.StartNode("a", Held,
            settings: new Dictionary<string, string?> { ["Felix:Workflows:RetryAfterSeconds"] = "7" },
            services: services => services.AddSingleton<ILoggerProvider>(Logs));
        using var client = node.CreateApiClient();
        var running = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForStatusAsync(running, WorkflowStatuses.Running);
        await using var connection = node.CreateHubConnection("json");
        await connection.StartAsync().DefaultTimeout();

        await Redis.StopAsync();

        using (var refused = await client.GetAsync("api/v1/workflows").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(Seconds), refused.Headers.RetryAfter?.Delta);
            var problem = (await refused.Content.ReadFromJsonAsync<JsonObject>().DefaultTimeout())!;
            Assert.Equal("Storage unavailable", problem["title"]!.GetValue<string>());
            Assert.Equal("The shared store (Redis) is unreachable. Retry after 7 seconds.", problem["detail"]!.GetValue<string>());
            Assert.Equal(Seconds, problem["retry_after_seconds"]!.GetValue<int>());
        }

        using (var socket = await node.ConnectRawAsync(CompatTestSupport.WorkflowPath(running)))
        {
            Assert.Empty(await socket.ReadToCloseAsync());
            Assert.Equal(CompatCloseCodes.StorageUnavailable, socket.CloseStatus);
            Assert.Equal("Storage unavailable: retry after 7 seconds.", socket.CloseStatusDescription);
        }

        var hub = await Assert.ThrowsAsync<HubException>(
            () => connection.InvokeAsync<WorkflowSubscription>("Subscribe", running, null).DefaultTimeout(TimeSpan.FromSeconds(60)));
        Assert.Contains("Storage unavailable: retry after 7 seconds.", hub.Message, StringComparison.Ordinal);

        using (var agui = await client.PostRunAsync("thread-new", "run-1", "Explain quantum computing"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, agui.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(Seconds), agui.Headers.RetryAfter?.Delta);
        }

        Assert.DoesNotContain(Logs.Entries, e => e.Level >= LogLevel.Error && e.Category.StartsWith("Felix.Server", StringComparison.Ordinal));
    }
}
