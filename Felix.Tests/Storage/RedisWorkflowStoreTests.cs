using Felix.Contracts;
using Felix.Server.Scaleout;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Felix.Tests.Scaleout;
using StackExchange.Redis;

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

        await connection.Database.KeyDeleteAsync(connection.Keys.Workflow("wf_keep"));
        var (pending, pendingTotal) = await store.ListAsync(WorkflowStatuses.Pending, "a", 1, 10).DefaultTimeout();
        Assert.Empty(pending);
        Assert.Equal(0, pendingTotal);
        Assert.Equal(0, await connection.Database.SortedSetLengthAsync(connection.Keys.OwnerStatusIndex("a", WorkflowStatuses.Pending)));
    }

    [Fact]
    public async Task AStatusListingReadsOnlyTheRecordsInThatStatus()
    {
        // The approval deadlines list the waiting workflows every second on every node; a month of finished ones must
        // not be read each time.
        var connection = _connections.Open();
        var store = new RedisWorkflowStore(connection, FinishedTimeToLive);
        for (var i = 0; i < 300; i++)
        {
            await store.CreateAsync(Record($"wf_done{i}") with { Status = WorkflowStatuses.Completed });
        }

        await store.CreateAsync(Record("wf_waits"));
        await store.UpdateAsync("wf_waits", w => w with { Status = WorkflowStatuses.AwaitingApproval }).DefaultTimeout();
        await store.ListAsync(WorkflowStatuses.AwaitingApproval, null, 1, 100).DefaultTimeout();

        var before = await KeyspaceHitsAsync();
        var (items, total) = await store.ListAsync(WorkflowStatuses.AwaitingApproval, null, 1, 100).DefaultTimeout();
        var read = await KeyspaceHitsAsync() - before;

        Assert.Equal(["wf_waits"], items.Select(w => w.Id));
        Assert.Equal(1, total);
        Assert.InRange(read, 1, 5);
    }

    [Fact]
    public async Task WorkflowsStoredBeforeTheStatusIndexesExistedAreListedByStatus()
    {
        var prefix = RedisTestConnections.NewPrefix();
        var connection = _connections.Open(prefix);
        var store = new RedisWorkflowStore(connection, FinishedTimeToLive);
        await store.CreateAsync(Record("wf_old1"));
        await store.CreateAsync(Record("wf_old2", owner: "a"));
        await store.UpdateAsync("wf_old2", w => w with { Status = WorkflowStatuses.Running }).DefaultTimeout();

        // What a deployment that stored these before the status indexes has in Redis: records and the time indexes only.
        var keys = connection.Keys;
        await connection.Database.KeyDeleteAsync([.. WorkflowStatuses.All.Select(keys.StatusIndex),
            keys.OwnerStatusIndex("default", WorkflowStatuses.Pending), keys.OwnerStatusIndex("a", WorkflowStatuses.Running)]);
        var upgraded = new RedisWorkflowStore(_connections.Open(prefix), FinishedTimeToLive);

        Assert.Equal(["wf_old1"], (await upgraded.ListAsync(WorkflowStatuses.Pending, null, 1, 10)).Items.Select(w => w.Id));
        Assert.Equal(["wf_old2"], (await upgraded.ListAsync(WorkflowStatuses.Running, "a", 1, 10)).Items.Select(w => w.Id));
        Assert.True(await connection.Database.KeyExistsAsync(keys.StatusIndexesBuilt));
    }

    [Fact]
    public async Task AStatusIndexEntryWhoseRecordMovedOnIsDroppedWhenAListingMeetsIt()
    {
        var connection = _connections.Open();
        var store = new RedisWorkflowStore(connection, FinishedTimeToLive);
        await store.CreateAsync(Record("wf_moved"));
        await store.CreateAsync(Record("wf_pending"));
        await store.UpdateAsync("wf_moved", w => w with { Status = WorkflowStatuses.Running }).DefaultTimeout();

        // What the one-time build of the indexes leaves when it races an update: the old status still lists the workflow.
        await connection.Database.SortedSetAddAsync(connection.Keys.StatusIndex(WorkflowStatuses.Pending), "wf_moved", 1);
        var (items, total) = await store.ListAsync(WorkflowStatuses.Pending, null, 1, 10).DefaultTimeout();

        Assert.Equal(["wf_pending"], items.Select(w => w.Id));
        Assert.Equal(1, total);
        Assert.Equal(1, await connection.Database.SortedSetLengthAsync(connection.Keys.StatusIndex(WorkflowStatuses.Pending)));
        Assert.Equal(["wf_moved"], (await store.ListAsync(WorkflowStatuses.Running, null, 1, 10)).Items.Select(w => w.Id));
    }

    private async Task<long> KeyspaceHitsAsync()
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true");
        var stats = (await admin.GetServer(admin.GetEndPoints()[0]).InfoAsync("stats")).SelectMany(group => group);
        return long.Parse(stats.Single(pair => pair.Key == "keyspace_hits").Value, System.Globalization.CultureInfo.InvariantCulture);
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
