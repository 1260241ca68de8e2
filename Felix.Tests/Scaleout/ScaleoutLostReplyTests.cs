using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Scaleout;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;

namespace Felix.Tests.Scaleout;

/// <summary>
/// A command to the shared queue whose answer is lost on the way back (the network failed after Redis ran it) leaves
/// no workflow that nobody runs and none that runs twice. Real redis-server, a real server process, and a real
/// connection reset between Redis and the node (<see cref="RedisReplyLossProxy"/>).
/// </summary>
public sealed class ScaleoutLostReplyTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("felix-lost-reply-").FullName;
    private readonly RedisTestConnections _connections = new(redis);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _connections.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task AWorkflowWhoseTakeWasAnsweredIntoALostConnectionStillRunsOnce()
    {
        var prefix = RedisTestConnections.NewPrefix();
        await using var proxy = new RedisReplyLossProxy(redis.Port);
        var settings = ScaleoutNodeSettings.For(redis, prefix, "a",
            ("Felix:Redis:Configuration", proxy.Configuration),
            ("Felix:Workflows:MaxConcurrent", "1"),
            ("Felix:Llm:OfflineTokenDelay", "00:00:00.030"));
        await using var node = await ServerProcess.StartAsync(_directory, settings);
        using var api = new HttpClient { BaseAddress = node.BaseAddress };

        // The node's one slot is busy, so the second workflow waits on the shared queue; the node takes it when the
        // first ends, and the answer to that take (Redis popped it and recorded this node as its owner) is lost.
        var first = await api.CreateWorkflowAsync("Keeps the only slot busy", maxSteps: 1);
        await api.WaitForStatusAsync(first.WorkflowId, WorkflowStatuses.Running);
        var second = await api.CreateWorkflowAsync("Taken into a lost reply", maxSteps: 1);
        var connection = _connections.Open(prefix);
        var tenant = (await new RedisWorkflowStore(connection).GetAsync(second.WorkflowId))!.Owner;
        Assert.Equal(1, await connection.Database.ListLengthAsync(connection.Keys.TenantQueue(tenant)));
        proxy.LoseReply(requestHolds: $"\r\n{connection.Keys.TenantQueuePrefix}\r\n", replyHolds: second.WorkflowId);

        await proxy.Lost.Task.WaitAsync(TimeSpan.FromSeconds(60));
        // Requests that needed Redis while the node reconnected were answered 503 (try again): wait for it to answer.
        await Poll.UntilAsync(async () => (await api.GetAsync($"api/v1/workflows/{second.WorkflowId}")).IsSuccessStatusCode, "the node to reach Redis again");
        var workflow = await api.WaitForTerminalShowingOwnerAsync(second.WorkflowId, connection, node);
        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        var events = await api.ReadEventsAsync(second.WorkflowId);
        DurableHistory.AssertOneRun(events);
        Assert.Single(events, e => e is WorkflowStatusEvent { Status: WorkflowStatuses.Pending });
        Assert.Equal(WorkflowStatuses.Completed, (await api.WaitForTerminalAsync(first.WorkflowId)).Status);
        Assert.True(node.Output.Any(line => line.Contains($"Took workflow {second.WorkflowId} from the shared queue; the answer to an earlier take had been lost", StringComparison.Ordinal)), string.Join("\n", node.Output));
    }

    [Fact]
    public Task AWorkflowWhoseClaimFromADeadNodeWasAnsweredIntoALostConnectionStillRunsOnce() =>
        // The surviving node's claim of it (owner "gone" -> "a", compare-and-set) runs in Redis; its answer ":1" is lost.
        RunsOnceAfterItsClaimAsync((proxy, id) => proxy.LoseReply(requestHolds: $"\r\n{id}\r\n", replyHolds: ":1\r\n"));

    [Fact]
    public Task AWorkflowClaimedFromADeadNodeWhosePushToTheQueueWasLostStillRunsOnce() =>
        // The claim succeeds; the push to the front of the queue that follows it never reaches Redis.
        RunsOnceAfterItsClaimAsync((proxy, _) => proxy.LoseRequest(requestHolds: "\r\nfront\r\n"));

    /// <summary>A workflow held by a dead node is claimed by node a, whose connection loses what <paramref name="lose"/> arms.</summary>
    private async Task RunsOnceAfterItsClaimAsync(Action<RedisReplyLossProxy, string> lose)
    {
        var prefix = RedisTestConnections.NewPrefix();
        var gone = _connections.Open(prefix, nodeName: "gone");
        var id = await StoreAsHeldByADeadNodeAsync(gone);
        await using var proxy = new RedisReplyLossProxy(redis.Port);
        lose(proxy, id);
        var settings = ScaleoutNodeSettings.For(redis, prefix, "a",
            ("Felix:Redis:Configuration", proxy.Configuration),
            ("Felix:Llm:OfflineTokenDelay", "00:00:00.010"));
        await using var node = await ServerProcess.StartAsync(_directory, settings);
        using var api = new HttpClient { BaseAddress = node.BaseAddress };

        await proxy.Lost.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await Poll.UntilAsync(async () => (await api.GetAsync($"api/v1/workflows/{id}")).IsSuccessStatusCode, "the node to reach Redis again");
        var workflow = await api.WaitForTerminalShowingOwnerAsync(id, gone, node);
        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        var events = await api.ReadEventsAsync(id);
        DurableHistory.AssertOneRun(events);
        Assert.Single(events, e => e is WorkflowStatusEvent { Status: WorkflowStatuses.Pending });
    }

    [Fact]
    public async Task AFinishedWorkflowWithoutItsEndWhoseClaimWasAnsweredIntoALostConnectionIsEnded()
    {
        var prefix = RedisTestConnections.NewPrefix();
        var id = string.Empty;
        await using (var gone = await ServerProcess.StartAsync(_directory, ScaleoutNodeSettings.For(redis, prefix, "gone")))
        {
            using var goneApi = new HttpClient { BaseAddress = gone.BaseAddress };
            id = (await goneApi.CreateWorkflowAsync("Finished as its node died", maxSteps: 5)).WorkflowId;
            await goneApi.WaitForStatusAsync(id, WorkflowStatuses.Running);

            // The state a SIGKILL between the two writes of a run's end leaves: the record says completed (written with
            // the server's own store, as the node, while it is frozen mid-run), the stream has no end, the node is gone.
            await gone.PauseAsync();
            Assert.NotNull(await new RedisWorkflowStore(_connections.Open(prefix, "gone")).UpdateAsync(id, w => w with
            {
                Status = WorkflowStatuses.Completed,
                CompletedAt = DateTimeOffset.UtcNow,
                Synthesis = new Synthesis { Content = "Finished just before the crash", Confidence = 0.9, AgentsSynthesized = 1 },
            }));
            await gone.KillAsync();
        }

        // The surviving node's claim runs in Redis; its answer is lost.
        await using var proxy = new RedisReplyLossProxy(redis.Port);
        proxy.LoseReply(requestHolds: $"\r\n{id}\r\n", replyHolds: ":1\r\n");
        await using var node = await ServerProcess.StartAsync(_directory, ScaleoutNodeSettings.For(redis, prefix, "a", ("Felix:Redis:Configuration", proxy.Configuration)));
        using var api = new HttpClient { BaseAddress = node.BaseAddress };

        await proxy.Lost.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await Poll.UntilAsync(async () => (await api.GetAsync($"api/v1/workflows/{id}")).IsSuccessStatusCode, "the node to reach Redis again");
        Assert.Equal(WorkflowStatuses.Completed, (await api.WaitForTerminalAsync(id, TimeSpan.FromSeconds(30))).Status);
        var events = await api.ReadEventsAsync(id);
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.Single(events, e => e.IsTerminal);
        Assert.Equal("Finished just before the crash", Assert.IsType<WorkflowCompleteEvent>(events[^1]).Synthesis.Content);
        var connection = _connections.Open(prefix);
        await Poll.UntilAsync(async () => !await connection.Database.HashExistsAsync(connection.Keys.Owners, id), "the hold to go");
    }

    /// <summary>
    /// No signal can stop a node between storing a workflow and queueing it, so the state its SIGKILL there leaves is
    /// built with the server's own store, under the name of a node that has no lease (it died): stored, held, not queued.
    /// </summary>
    private static async Task<string> StoreAsHeldByADeadNodeAsync(RedisConnection gone)
    {
        var id = WorkflowIds.New();
        await new RedisWorkflowStore(gone).CreateAsync(new WorkflowRecord
        {
            Id = id, Task = "Stored by a node that died", MaxSteps = 1, Owner = "default", Status = WorkflowStatuses.Pending, CreatedAt = DateTimeOffset.UtcNow,
        });
        Assert.Equal("gone", (string?)await gone.Database.HashGetAsync(gone.Keys.Owners, id));
        return id;
    }

}
