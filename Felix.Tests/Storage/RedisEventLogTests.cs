using Felix.Contracts.Events;
using Felix.Server.Scaleout;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;
using Felix.Tests.Scaleout;
using Microsoft.Extensions.Options;

namespace Felix.Tests.Storage;

public sealed class RedisEventLogTests(RedisServer redis) : EventLogSpec, IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly RedisTestConnections _connections = new(redis);

    private protected override Task<IEventLog> CreateEventLogAsync(int maxEventsPerWorkflow = StreamingOptions.DefaultMaxEventsPerWorkflow) =>
        Task.FromResult<IEventLog>(Open(_connections.Open(), maxEventsPerWorkflow));

    private static RedisEventLog Open(RedisConnection connection, int maxEventsPerWorkflow = StreamingOptions.DefaultMaxEventsPerWorkflow) =>
        new(connection, new ScaleoutSignals(), Options.Create(new StreamingOptions { MaxEventsPerWorkflow = maxEventsPerWorkflow }));

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _connections.DisposeAsync().AsTask();

    [Fact]
    public async Task TwoNodesAppendingToOneWorkflowShareOneContiguousStream()
    {
        var prefix = RedisTestConnections.NewPrefix();
        var one = Open(_connections.Open(prefix));
        var two = Open(_connections.Open(prefix));

        await Task.WhenAll(
            Task.Run(() => AppendManyAsync(one, "wf_shared", 50)),
            Task.Run(() => AppendManyAsync(two, "wf_shared", 50))).DefaultTimeout();

        var all = (await two.ReadAsync("wf_shared", 0, 1000).DefaultTimeout()).Events;
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), all.Select(e => e.Sequence));
        Assert.Single(all.Select(e => e.Epoch).Distinct());
        Assert.Equal((await one.GetStateAsync("wf_shared").DefaultTimeout())!.Value.Epoch, all[0].Epoch);
    }

    // A run's events after its first go out as a plain XADD of the id right after its last one. These pin that Redis
    // refuses that id whenever another writer came in between, and that the script then decides.
    [Fact]
    public async Task ARunsNextEventAfterAnotherNodesWriteTakesTheNextSequence()
    {
        var prefix = RedisTestConnections.NewPrefix();
        var run = Open(_connections.Open(prefix));
        var api = Open(_connections.Open(prefix));
        await api.AppendAsync(Output("wf_a", 1)).AsTask().DefaultTimeout();
        for (var i = 2; i <= 3; i++)
        {
            await run.AppendAsync(Output("wf_a", i), fence: 1).AsTask().DefaultTimeout();
        }

        await api.AppendAsync(Output("wf_a", 4)).AsTask().DefaultTimeout();
        var next = Output("wf_a", 5);
        await run.AppendAsync(next, fence: 1).AsTask().DefaultTimeout();

        Assert.Equal(5, next.Sequence);
        var all = (await api.ReadAsync("wf_a", 0, 10).DefaultTimeout()).Events;
        Assert.Equal([1L, 2L, 3L, 4L, 5L], all.Select(e => e.Sequence));
        Assert.Equal(["agent_1", "agent_2", "agent_3", "agent_4", "agent_5"], all.Cast<AgentOutputEvent>().Select(e => e.AgentId));
    }

    [Fact]
    public async Task ARunsNextEventIsRefusedOnceAnotherNodeTookTheWorkflowOverOrEndedIt()
    {
        var prefix = RedisTestConnections.NewPrefix();
        var run = Open(_connections.Open(prefix));
        var other = Open(_connections.Open(prefix));
        foreach (var workflowId in new[] { "wf_taken", "wf_ended" })
        {
            await other.AppendAsync(Output(workflowId, 1)).AsTask().DefaultTimeout();
            await run.AppendAsync(Output(workflowId, 2), fence: 1).AsTask().DefaultTimeout();
            await run.AppendAsync(Output(workflowId, 3), fence: 1).AsTask().DefaultTimeout();
        }

        await other.AppendAsync(Output("wf_taken", 4), fence: 2).AsTask().DefaultTimeout();
        await other.AppendAsync(new WorkflowErrorEvent { WorkflowId = "wf_ended", Error = "cancelled" }).AsTask().DefaultTimeout();

        var stale = await Assert.ThrowsAsync<AppendRefusedException>(() => run.AppendAsync(Output("wf_taken", 5), fence: 1).AsTask().DefaultTimeout());
        var ended = await Assert.ThrowsAsync<AppendRefusedException>(() => run.AppendAsync(Output("wf_ended", 5), fence: 1).AsTask().DefaultTimeout());
        Assert.Equal((AppendRefusal.StaleRun, AppendRefusal.StreamEnded), (stale.Reason, ended.Reason));
        foreach (var workflowId in new[] { "wf_taken", "wf_ended" })
        {
            Assert.Equal([1L, 2L, 3L, 4L], (await other.ReadAsync(workflowId, 0, 10).DefaultTimeout()).Events.Select(e => e.Sequence));
        }
    }

    [Fact]
    public async Task ReadsAfterAnyPositionOfAStreamWrittenBySeveralAttempts()
    {
        var log = Open(_connections.Open());
        long[] fences = [0, 1, 2, 2, 2, 0, 3, 3];
        for (var i = 0; i < fences.Length; i++)
        {
            await log.AppendAsync(Output("wf_a", i + 1), fences[i]).AsTask().DefaultTimeout();
        }

        for (var after = 0; after <= fences.Length; after++)
        {
            var rest = await log.ReadAsync("wf_a", after, 100).DefaultTimeout();
            Assert.Equal(Enumerable.Range(after + 1, fences.Length - after).Select(i => (long)i), rest.Events.Select(e => e.Sequence));
            Assert.False(rest.Truncated);
            var page = await log.ReadAsync("wf_a", after, 2).DefaultTimeout();
            Assert.Equal(Enumerable.Range(after + 1, Math.Min(2, fences.Length - after)).Select(i => (long)i), page.Events.Select(e => e.Sequence));
        }
    }

    // A real restart: Redis here keeps nothing on disk, so the stream and its position are gone. The run's next event
    // must neither go out as the plain XADD of the id after its last one (a stream starting in the middle) nor start the
    // stream again under a new epoch (a stream that would pass for the workflow, with its record gone): it is refused.
    [Fact]
    public async Task ARunWhoseRedisRestartedWithoutItsDataIsRefusedAsLostRatherThanStartingTheStreamAgain()
    {
        var connection = _connections.Open();
        var log = Open(connection);
        await log.AppendAsync(Output("wf_a", 1)).AsTask().DefaultTimeout();
        await log.AppendAsync(Output("wf_a", 2), fence: 1).AsTask().DefaultTimeout();

        await redis.StopAsync();
        await Poll.UntilAsync(() => Task.FromResult(!connection.Multiplexer.IsConnected), "the connection to notice the restart");
        await redis.StartAsync();
        await Poll.UntilAsync(() => Task.FromResult(connection.Multiplexer.IsConnected), "the connection to come back");
        var refused = await Assert.ThrowsAsync<AppendRefusedException>(() => log.AppendAsync(Output("wf_a", 3), fence: 1).AsTask().DefaultTimeout());

        Assert.Equal(AppendRefusal.StreamLost, refused.Reason);
        Assert.Null(await log.GetStateAsync("wf_a").DefaultTimeout());
        // A write outside a run (a new workflow's creation) still starts a stream.
        var created = Output("wf_b", 1);
        await log.AppendAsync(created).AsTask().DefaultTimeout();
        Assert.Equal(1, created.Sequence);
    }
}

public sealed class RedisLocalFanoutTests(RedisServer redis) : Streaming.LocalFanoutSpec, IClassFixture<RedisServer>
{
    private readonly RedisTestConnections _connections = new(redis);

    private protected override Task<IEventLog> CreateEventLogAsync() =>
        Task.FromResult<IEventLog>(new RedisEventLog(_connections.Open(), new ScaleoutSignals(), Options.Create(new StreamingOptions())));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _connections.DisposeAsync();
    }
}
