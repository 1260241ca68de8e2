using Felix.Contracts;
using Felix.Server.Scaleout;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Felix.Tests.Scaleout;

namespace Felix.Tests.Storage;

public sealed class RedisWorkflowStoreTests(RedisServer redis) : WorkflowStoreSpec, IClassFixture<RedisServer>, IAsyncLifetime
{
    private static readonly TimeSpan FinishedTimeToLive = TimeSpan.FromHours(1);
    private readonly RedisTestConnections _connections = new(redis);

    private protected override Task<IWorkflowStore> CreateStoreAsync() =>
        Task.FromResult<IWorkflowStore>(new RedisWorkflowStore(_connections.Open(), FinishedTimeToLive));

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _connections.DisposeAsync().AsTask();

    [Fact]
    public async Task FinishedWorkflowsExpireAndRunningOnesDoNot()
    {
        var connection = _connections.Open();
        var store = new RedisWorkflowStore(connection, FinishedTimeToLive);
        await store.CreateAsync(Record("wf_ttl1"));
        await store.CreateAsync(Record("wf_ttl2"));

        await store.UpdateAsync("wf_ttl1", w => w with { Status = WorkflowStatuses.Completed }).DefaultTimeout();
        await store.UpdateAsync("wf_ttl2", w => w with { Status = WorkflowStatuses.Running }).DefaultTimeout();

        var finished = await connection.Database.KeyTimeToLiveAsync(connection.Keys.Workflow("wf_ttl1"));
        var running = await connection.Database.KeyTimeToLiveAsync(connection.Keys.Workflow("wf_ttl2"));
        Assert.InRange(finished!.Value, FinishedTimeToLive - TimeSpan.FromMinutes(1), FinishedTimeToLive);
        Assert.Null(running);
    }

    [Fact]
    public async Task ExpiredWorkflowsLeaveListingsAndTheirIndexes()
    {
        var connection = _connections.Open();
        var store = new RedisWorkflowStore(connection, FinishedTimeToLive);
        await store.CreateAsync(Record("wf_keep", owner: "a"));
        await store.CreateAsync(Record("wf_gone", owner: "a"));

        // What an expiry does to the record; the index entries stay until a listing meets them.
        await connection.Database.KeyDeleteAsync(connection.Keys.Workflow("wf_gone"));
        var (items, total) = await store.ListAsync(null, "a", 1, 10).DefaultTimeout();
        var (again, totalAgain) = await store.ListAsync(null, "a", 1, 10).DefaultTimeout();

        Assert.Equal(["wf_keep"], items.Select(w => w.Id));
        Assert.Equal(1, total);
        Assert.Equal(["wf_keep"], again.Select(w => w.Id));
        Assert.Equal(1, totalAgain);
        Assert.Equal(1, await connection.Database.SortedSetLengthAsync(connection.Keys.OwnerIndex("a")));
        Assert.Equal(1, await connection.Database.SortedSetLengthAsync(connection.Keys.WorkflowIndex));
    }

    private static WorkflowRecord Record(string id, string owner = "default") => new()
    {
        Id = id,
        Task = "t",
        MaxSteps = 1,
        Owner = owner,
        Status = WorkflowStatuses.Pending,
        CreatedAt = DateTimeOffset.UtcNow,
    };
}
