using Felix.Contracts;
using Felix.Server.Compat;
using Felix.Tests.Infrastructure;
using Felix.Tests.Scaleout;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>
/// A Redis with persistence (AOF) that is killed and started again keeps the workflow: its paused run resumes, and a raw
/// client that stayed connected gets every event of the run once, in order, up to the end.
/// </summary>
public sealed class CompatPersistentRedisTests(PersistentRedisServer redis) : RedisOutageTest(redis), IClassFixture<PersistentRedisServer>
{
    [Fact]
    public async Task ARawClientOfARunPausedByARedisRestartGetsEveryEventOnceAndTheEndWhenRedisKeptItsData()
    {
        var node = Cluster.StartNode("a", Held, services: services => services.AddSingleton<ILoggerProvider>(Logs));
        using var client = node.CreateApiClient();
        var running = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForStatusAsync(running, WorkflowStatuses.Running);
        using var socket = await node.ConnectRawAsync(WorkflowPath(running, "types=all"));
        Assert.Equal("connected", (await socket.ReceiveJsonAsync())!.Type());
        var snapshot = (await socket.ReceiveJsonAsync())!;
        var received = new List<System.Text.Json.Nodes.JsonObject>();
        while (received.Count == 0 || received[^1].Sequence() < snapshot["last_sequence"]!.GetValue<long>())
        {
            received.Add((await socket.ReceiveJsonAsync())!);
        }

        // The run's next write meets the outage and pauses; Redis comes back with everything it had acknowledged.
        await Redis.StopAsync();
        Held.Release();
        await Poll.UntilAsync(() => Task.FromResult(Logs.Entries.Any(e => e.EventId == 2111)), "the run to pause for storage");
        await Redis.StartAsync();

        received.AddRange((await socket.ReadToCloseAsync(TimeSpan.FromSeconds(30))).Events());
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        Assert.Equal(CompatCloseCodes.WorkflowFinished, socket.CloseStatusDescription);
        Assert.Equal("workflow_complete", received[^1].Type());

        // Exactly the stored history, in one epoch: nothing missing at the outage, nothing twice.
        var (epoch, stored) = await client.ReadHistoryAsync(running);
        Assert.Equal(stored, received.Select(f => f.Sequence()));
        Assert.All(received, f => Assert.Equal(epoch, f.Str("epoch")));
        // The run did resume, as a second attempt, in the same stream.
        Assert.Equal(2, received.Count(f => f.Type() == "workflow_status" && f.Str("status") == WorkflowStatuses.Running));
        Assert.Equal(WorkflowStatuses.Completed, (await client.WaitForTerminalAsync(running, Poll.DefaultLimit)).Status);
        Assert.DoesNotContain(Logs.Entries, e => e.EventId == 2117);
    }
}
