using System.Net;
using System.Net.WebSockets;
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
        await AssertStreamsAgainOnceRedisIsBackAsync(node, client);
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
        await AssertStreamsAgainOnceRedisIsBackAsync(node, client);
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

    [Fact]
    public async Task ARawClientOfARunLostWithARedisThatCameBackEmptyIsClosedWithTheReasonAndTheNodeWarns()
    {
        var node = StartNode();
        using var client = node.CreateApiClient();
        var running = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForStatusAsync(running, WorkflowStatuses.Running);
        using var socket = await WatchToTheEndOfTheHistoryAsync(node, running);

        await LoseTheRunWithARedisThatComesBackEmptyAsync();

        // No silence: after what the run published before the outage (it may still have been on its way to its held
        // model call), the stream ends with a close that says why.
        await AssertClosedAsLostAsync(socket);

        Assert.Contains(Logs.Entries, e => e.EventId == LostWithStorage && e.Level == LogLevel.Warning && e.Exception is null
            && e.Message.Contains(running, StringComparison.Ordinal));
        Assert.DoesNotContain(Logs.Entries, e => e.Level >= LogLevel.Error);

        // A client that connects again is told the workflow is not there, as for any unknown workflow.
        using var again = await node.ConnectRawAsync(WorkflowPath(running));
        Assert.Empty(await again.ReadToCloseAsync());
        Assert.Equal(CompatCloseCodes.PolicyViolation, again.CloseStatus);
        Assert.Equal(CompatCloseCodes.WorkflowNotFound, again.CloseStatusDescription);
    }

    [Fact]
    public async Task ARawClientOnAnotherNodeOfARunLostWithARedisThatCameBackEmptyIsClosedWithTheReason()
    {
        var runner = StartNode();
        using var client = runner.CreateApiClient();
        var running = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForStatusAsync(running, WorkflowStatuses.Running);
        // Started once the run is taken, so the workflow runs on the first node and the client watches from this one.
        var watcher = Cluster.StartNode("b", services: services => services.AddSingleton<ILoggerProvider>(Logs));
        using var socket = await WatchToTheEndOfTheHistoryAsync(watcher, running);

        await LoseTheRunWithARedisThatComesBackEmptyAsync();

        // The watching node looks its quiet streams up in the log every few seconds and finds this one gone.
        await AssertClosedAsLostAsync(socket);
        Assert.Contains(Logs.Entries, e => e.EventId == StreamGoneFromTheLog && e.Level == LogLevel.Warning
            && e.Message.Contains(running, StringComparison.Ordinal));
        Assert.DoesNotContain(Logs.Entries, e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task ARunWhoseRedisCameBackEmptyBetweenTwoOfItsWritesEndsAsLostInsteadOfStartingANewStream()
    {
        var node = StartNode();
        using var client = node.CreateApiClient();
        var running = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForStatusAsync(running, WorkflowStatuses.Running);
        using var socket = await WatchToTheEndOfTheHistoryAsync(node, running);

        // The run waits for its model with nothing to write; Redis restarts without its data in that quiet moment and the
        // node is connected again before the run's next write, so that write meets no error at all.
        await Held.FirstCallWaiting.DefaultTimeout();
        await Redis.StopAsync();
        await Redis.StartAsync();
        await Poll.UntilAsync(async () => (await client.GetAsync("/health/ready")).IsSuccessStatusCode, "the node to be ready again");
        Held.Release();

        await AssertClosedAsLostAsync(socket);
        Assert.Contains(Logs.Entries, e => e.EventId == LostWithStorage && e.Level == LogLevel.Warning
            && e.Message.Contains(running, StringComparison.Ordinal));
        Assert.DoesNotContain(Logs.Entries, e => e.Level >= LogLevel.Error);
        // Nothing of the run was written into the empty Redis: no stream starting over at 1 under a new epoch.
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/workflows/{running}/events")).StatusCode);
    }

    /// <summary>Once Redis is back the node serves raw streams again: a new workflow streams to its end.</summary>
    private async Task AssertStreamsAgainOnceRedisIsBackAsync(FelixApplication node, HttpClient client)
    {
        await RestartRedisAsync(client);
        var after = (await client.CreateWorkflowAsync(maxSteps: 1)).WorkflowId;
        var frames = await ReadStreamAsync(node, WorkflowPath(after));
        Assert.Equal("workflow_complete", frames[^1].Type());
    }

    /// <summary>
    /// Opens a raw stream of every type (so the history's last event is among the frames) and reads the history to its
    /// end: the client then waits for live events.
    /// </summary>
    private static async Task<WebSocket> WatchToTheEndOfTheHistoryAsync(FelixApplication node, string workflowId)
    {
        var socket = await node.ConnectRawAsync(WorkflowPath(workflowId, "types=all"));
        Assert.Equal("connected", (await socket.ReceiveJsonAsync())!.Type());
        var snapshot = (await socket.ReceiveJsonAsync())!;
        for (var seen = 0L; seen < snapshot["last_sequence"]!.GetValue<long>();)
        {
            seen = (await socket.ReceiveJsonAsync())!.Sequence();
        }

        return socket;
    }

    /// <summary>The run's next write meets the outage and pauses; Redis then comes back without its data (no persistence).</summary>
    private async Task LoseTheRunWithARedisThatComesBackEmptyAsync()
    {
        await Redis.StopAsync();
        Held.Release();
        await Poll.UntilAsync(() => Task.FromResult(Logs.Entries.Any(e => e.EventId == PausedForStorage)), "the run to pause for storage");
        await Redis.StartAsync();
    }

    private static async Task AssertClosedAsLostAsync(WebSocket socket)
    {
        var frames = await socket.ReadToCloseAsync(TimeSpan.FromSeconds(30));
        Assert.DoesNotContain(frames, f => f.Type() is "workflow_complete" or "workflow_error");
        // Status and reason together: a wrong close names the path that sent it (the reason tells them apart).
        Assert.Equal(
            ((WebSocketCloseStatus?)CompatCloseCodes.WorkflowLost, (string?)CompatCloseCodes.WorkflowLostReason),
            (socket.CloseStatus, socket.CloseStatusDescription));
    }

    /// <summary>The fan-out's Warning: a stream this node listens to is gone from the log.</summary>
    private const int StreamGoneFromTheLog = 1003;

    /// <summary>The runner's Warning: a run paused by a storage fault.</summary>
    private const int PausedForStorage = 2111;

    /// <summary>The runner's Warning: the paused run's record was gone when storage came back.</summary>
    private const int LostWithStorage = 2117;

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
