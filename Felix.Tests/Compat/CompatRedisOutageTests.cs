using Felix.Contracts;
using Felix.Server.Compat;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using Felix.Tests.Scaleout;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>
/// Raw streams while the shared store (a real redis-server) is down: a client is closed with 1013 and a reason that tells
/// it to retry, the node logs a warning (no stack) and goes on serving, and the client streams again once Redis is back.
/// </summary>
public sealed class CompatRedisOutageTests(RedisServer redis) : RedisOutageTest(redis), IClassFixture<RedisServer>
{
    [Theory]
    [InlineData(null)]
    [InlineData("last_event_id=")]
    public async Task ARawClientThatConnectsWhileRedisIsDownIsToldToRetryAndStreamsOnceItIsBack(string? resume)
    {
        var node = StartNode();
        using var client = node.CreateApiClient();
        var running = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForStatusAsync(running, WorkflowStatuses.Running);
        var events = await client.ReadEventsAsync(running);
        var query = resume is null ? null : resume + events[0].EventId;

        await Redis.StopAsync();

        using (var refused = await node.ConnectRawAsync(WorkflowPath(running, query)))
        {
            Assert.Empty(await refused.ReadToCloseAsync());
            Assert.Equal(CompatCloseCodes.StorageUnavailable, refused.CloseStatus);
            Assert.Equal("Storage unavailable: retry after 5 seconds.", refused.CloseStatusDescription);
        }

        // The node goes on serving: the system stream needs no store.
        using (var system = await node.ConnectRawAsync("api/v1/ws/system/events"))
        {
            Assert.Equal("connected", (await system.ReceiveJsonAsync())!.Type());
            await system.SendTextAsync("stats");
            Assert.Equal("connection_stats", (await system.ReceiveJsonAsync())!.Type());
        }

        AssertOutageLoggedAsWarning();

        await RestartRedisAsync(client);
        var after = (await client.CreateWorkflowAsync(maxSteps: 1)).WorkflowId;
        var frames = await ReadStreamAsync(node, WorkflowPath(after));
        Assert.Equal("workflow_complete", frames[^1].Type());
    }

    [Fact]
    public async Task ARawClientWhoseHistoryReadMeetsTheOutageAfterItConnectedIsToldToRetryAndResumesOnceRedisIsBack()
    {
        var node = StartNode();
        using var client = node.CreateApiClient();
        var running = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForFirstAgentAsync(running);

        Reads.Arm(running);
        using (var socket = await node.ConnectRawAsync(WorkflowPath(running)))
        {
            Assert.Equal("connected", (await socket.ReceiveJsonAsync())!.Type());
            Assert.Equal("workflow_status", (await socket.ReceiveJsonAsync())!.Type());
            await Reads.Entered.DefaultTimeout();
            await Redis.StopAsync();
            Reads.Release();

            Assert.Empty(await socket.ReadToCloseAsync());
            Assert.Equal(CompatCloseCodes.StorageUnavailable, socket.CloseStatus);
            Assert.Equal("Storage unavailable: retry after 5 seconds.", socket.CloseStatusDescription);
        }

        AssertOutageLoggedAsWarning();

        await RestartRedisAsync(client);
        var after = (await client.CreateWorkflowAsync(maxSteps: 1)).WorkflowId;
        var frames = await ReadStreamAsync(node, WorkflowPath(after));
        Assert.Equal("workflow_complete", frames[^1].Type());
    }

    [Fact]
    public async Task AStatusCommandWhileRedisIsDownClosesTheStreamWithTheRetryReason()
    {
        var node = StartNode();
        using var client = node.CreateApiClient();
        var running = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForStatusAsync(running, WorkflowStatuses.Running);
        using var socket = await node.ConnectRawAsync(WorkflowPath(running));
        Assert.Equal("connected", (await socket.ReceiveJsonAsync())!.Type());
        Assert.Equal("workflow_status", (await socket.ReceiveJsonAsync())!.Type());

        await Redis.StopAsync();
        await socket.SendTextAsync("status");

        // The history sent before the command may still be on its way; the close comes after it.
        await socket.ReadToCloseAsync();
        Assert.Equal(CompatCloseCodes.StorageUnavailable, socket.CloseStatus);
        Assert.Equal("Storage unavailable: retry after 5 seconds.", socket.CloseStatusDescription);
        AssertOutageLoggedAsWarning();
    }

    private FelixApplication StartNode() => Cluster.StartNode("a", Held, services: services =>
    {
        Reads.Install(services);
        services.AddSingleton<ILoggerProvider>(Logs);
    });

    /// <summary>An expected outage is a warning without a stack, as the hub's is; not the host's unhandled-exception error.</summary>
    private void AssertOutageLoggedAsWarning()
    {
        Assert.DoesNotContain(Logs.Entries, e => e.Level >= LogLevel.Error
            && (e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || e.Category.StartsWith("Felix.Server.Compat", StringComparison.Ordinal)));
        Assert.Contains(Logs.Entries, e => e.EventId == 3005 && e.Level == LogLevel.Warning && e.Exception is null);
    }
}
