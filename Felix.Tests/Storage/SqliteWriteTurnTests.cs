using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Storage;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Felix.Tests.Storage;

/// <summary>
/// SQLite lets one connection write at a time, and one that finds the file locked sleeps between tries (1, 2, 5 … 100
/// ms). The writers of one process (the SQLite writer's thread, which writes the records too, the retention sweep, the
/// storage probe) take turns instead, so none of them ever finds the lock taken by another; only another process makes
/// a write wait on SQLite's lock, and that is counted (<c>felix.storage.lock_waits</c>).
/// </summary>
public sealed class SqliteWriteTurnTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _files = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _files.DisposeAsync().AsTask();

    [Fact]
    public async Task AnEventAppendedWhileARecordUpdateIsInItsTransactionWaitsForItsTurnNotForSqlitesLock()
    {
        var database = _files.Open();
        var log = _files.OpenEventLog(database);
        var store = _files.OpenStore(database, log);
        await store.CreateAsync(Record("wf_turns")).DefaultTimeout();
        await log.AppendAsync(Status("wf_turns")).AsTask().DefaultTimeout(); // the writer's connection is open

        // The update's function runs inside its transaction, which holds the file's write lock until it commits.
        var inTransaction = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        var update = Task.Run(() => store.UpdateAsync("wf_turns", w =>
        {
            inTransaction.SetResult();
            release.Wait(TimeSpan.FromSeconds(30));
            return w with { Status = WorkflowStatuses.Running };
        }));
        await inTransaction.Task.DefaultTimeout();

        var append = Task.Run(() => log.AppendAsync(Status("wf_turns")).AsTask());
        // Long enough for the writer to reach the lock and wait on it, as it did before writers took turns.
        await WaitUntilAsync(() => database.LockWaits > 0, TimeSpan.FromSeconds(1));
        Assert.False(append.IsCompleted);
        release.Set();
        await update.DefaultTimeout();
        await append.DefaultTimeout();

        Assert.Equal(0, database.LockWaits);
        Assert.Equal(2, (await log.GetStateAsync("wf_turns").DefaultTimeout())!.Value.LastSequence);
        Assert.Equal(WorkflowStatuses.Running, (await store.GetAsync("wf_turns").DefaultTimeout())!.Status);
    }

    [Fact]
    public async Task ManyRecordUpdatesAndAppendsAtOnceNeverWaitOnSqlitesLock()
    {
        var database = _files.Open();
        var log = _files.OpenEventLog(database);
        var store = _files.OpenStore(database, log);
        var ids = Enumerable.Range(1, 20).Select(i => $"wf_many_{i}").ToArray();
        foreach (var id in ids)
        {
            await store.CreateAsync(Record(id)).DefaultTimeout();
        }

        await Task.WhenAll(ids.Select(id => Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                var append = log.AppendAsync(Status(id)).AsTask();
                await store.UpdateAsync(id, w => w with { Task = $"step {i}" });
                await append;
            }
        }))).DefaultTimeout();

        Assert.Equal(0, database.LockWaits);
        foreach (var id in ids)
        {
            Assert.Equal(10, (await log.GetStateAsync(id).DefaultTimeout())!.Value.LastSequence);
            Assert.Equal("step 9", (await store.GetAsync(id).DefaultTimeout())!.Task);
        }
    }

    [Fact]
    public async Task AWriteThatFindsTheFileLockedByAnotherProcessWaitsForItAndIsCounted()
    {
        var database = _files.Open();
        var store = _files.OpenStore(database);
        await database.QuickCheckAsync().DefaultTimeout(); // creates the file

        // Another program on the same file (a backup, the sqlite3 shell): its own connection, not this process's turns.
        await using var other = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _files.File, Pooling = false }.ToString());
        await other.OpenAsync().DefaultTimeout();
        await using (var begin = other.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE;";
            await begin.ExecuteNonQueryAsync().DefaultTimeout();
        }

        var create = Task.Run(() => store.CreateAsync(Record("wf_waits"))); // SQLite's calls block, the async ones too
        await WaitUntilAsync(() => database.LockWaits > 0, TimeSpan.FromSeconds(10));
        Assert.Equal(1, database.LockWaits);
        Assert.False(create.IsCompleted);

        await using (var commit = other.CreateCommand())
        {
            commit.CommandText = "COMMIT;";
            await commit.ExecuteNonQueryAsync().DefaultTimeout();
        }

        await create.DefaultTimeout();
        Assert.NotNull(await store.GetAsync("wf_waits").DefaultTimeout());
        Assert.Equal(1, database.LockWaits);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan atMost)
    {
        var deadline = DateTime.UtcNow + atMost;
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
    }

    private static WorkflowEvent Status(string workflowId) => new WorkflowStatusEvent { WorkflowId = workflowId, Status = "running" };

    private static WorkflowRecord Record(string id) => new()
    {
        Id = id,
        Task = "t",
        MaxSteps = 3,
        Status = WorkflowStatuses.Pending,
        CreatedAt = DateTimeOffset.UtcNow,
    };
}
