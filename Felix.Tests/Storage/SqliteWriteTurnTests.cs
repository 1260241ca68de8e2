using System.Collections.Concurrent;
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
/// a write wait on SQLite's lock, and that is counted (<c>felix.storage.lock_waits</c>). The workflow store's writes
/// (create, update, the end of finishing) join the writer's batches: they run on its thread, in its transaction, and
/// cost no commit of their own; each runs in a savepoint, so one that fails fails alone and the rest of its batch is
/// committed.
/// </summary>
public sealed class SqliteWriteTurnTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _files = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _files.DisposeAsync().AsTask();

    [Fact]
    public async Task AnEventAppendedWhileAnotherWriterOfTheProcessIsInItsTransactionWaitsForItsTurnNotForSqlitesLock()
    {
        var database = _files.Open();
        var log = _files.OpenEventLog(database);
        await log.AppendAsync(Status("wf_turns")).AsTask().DefaultTimeout(); // the writer's connection is open

        // Another writer of this process (the retention sweep, the storage probe): its transaction holds the file's
        // write lock until it commits.
        Task append;
        await using (var other = await database.OpenForWriteAsync().DefaultTimeout())
        {
            await using (var begin = other.Command("BEGIN IMMEDIATE; INSERT INTO finishing (workflow_id) VALUES ('wf_other');"))
            {
                await begin.ExecuteNonQueryAsync().DefaultTimeout();
            }

            append = Task.Run(() => log.AppendAsync(Status("wf_turns")).AsTask());
            // Long enough for the writer to reach the lock and wait on it, as it did before writers took turns.
            await WaitUntilAsync(() => database.LockWaits > 0, TimeSpan.FromSeconds(1));
            Assert.False(append.IsCompleted);
            await using var commit = other.Command("COMMIT;");
            await commit.ExecuteNonQueryAsync().DefaultTimeout();
        }

        await append.DefaultTimeout();
        Assert.Equal(0, database.LockWaits);
        Assert.Equal(2, (await log.GetStateAsync("wf_turns").DefaultTimeout())!.Value.LastSequence);
    }

    [Fact]
    public async Task ManyRecordUpdatesAndAppendsAtOnceNeverWaitOnSqlitesLock()
    {
        var database = _files.Open();
        var log = _files.OpenEventLog(database);
        var store = _files.OpenStore(database, log);
        var ids = await CreateRecordsAsync(store, "wf_many_", 20);

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
        await using var other = await _files.OpenAnotherConnectionAsync();
        await SqliteTestDatabase.ExecuteAsync(other, "BEGIN IMMEDIATE;");

        var create = Task.Run(() => store.CreateAsync(Record("wf_waits"))); // SQLite's calls block, the async ones too
        await WaitUntilAsync(() => database.LockWaits > 0, TimeSpan.FromSeconds(10));
        Assert.Equal(1, database.LockWaits);
        Assert.False(create.IsCompleted);

        await SqliteTestDatabase.ExecuteAsync(other, "COMMIT;");

        await create.DefaultTimeout();
        Assert.NotNull(await store.GetAsync("wf_waits").DefaultTimeout());
        Assert.Equal(1, database.LockWaits);
    }

    [Fact]
    public async Task RecordUpdatesQueuedWithAppendsAreCommittedInTheWritersBatchOnItsThread()
    {
        var database = _files.Open();
        var log = _files.OpenEventLog(database);
        var store = _files.OpenStore(database, log);
        var ids = await CreateRecordsAsync(store, "wf_batch_", 10);

        // While this process's turn to write is held, the writer waits with at most one batch and the rest queues up.
        var threads = new ConcurrentBag<string?>();
        List<Task> writes;
        long before;
        using (database.EnterWrite())
        {
            before = log.Commits;
            writes =
            [
                .. ids.Select(id => log.AppendAsync(Status(id)).AsTask()),
                .. ids.Select(id => store.UpdateAsync(id, w =>
                {
                    threads.Add(Thread.CurrentThread.Name);
                    return w with { Task = "updated" };
                })),
            ];
            await Task.Delay(100);
            Assert.All(writes, write => Assert.False(write.IsCompleted));
        }

        await Task.WhenAll(writes).DefaultTimeout();

        Assert.InRange(log.Commits - before, 1, 2);
        Assert.Equal(ids.Length, threads.Count);
        Assert.All(threads, name => Assert.Equal(SqliteEventLog.WriterThreadName, name));
        foreach (var id in ids)
        {
            Assert.Equal("updated", (await store.GetAsync(id).DefaultTimeout())!.Task);
            Assert.Equal(1, (await log.GetStateAsync(id).DefaultTimeout())!.Value.LastSequence);
        }
    }

    [Fact]
    public async Task ARecordWriteThatFailsIsUndoneAloneAndTheRestOfItsBatchIsCommitted()
    {
        var database = _files.Open();
        var log = _files.OpenEventLog(database);
        var store = _files.OpenStore(database, log);
        await store.CreateAsync(Record("wf_kept")).DefaultTimeout();
        await log.AppendAsync(Status("wf_kept")).AsTask().DefaultTimeout();

        Task appendBefore, partial, duplicate, update, appendAfter;
        using (database.EnterWrite())
        {
            appendBefore = log.AppendAsync(Status("wf_kept")).AsTask();
            // Writes a row, then fails: its savepoint takes the row back.
            partial = log.WriteAsync<int>(connection =>
            {
                using var insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO finishing (workflow_id) VALUES ('wf_partial')";
                insert.ExecuteNonQuery();
                throw new InvalidOperationException("the write failed half-way");
            });
            duplicate = store.CreateAsync(Record("wf_kept"));
            update = store.UpdateAsync("wf_kept", w => w with { Status = WorkflowStatuses.Running });
            appendAfter = log.AppendAsync(Status("wf_kept")).AsTask();
        }

        Assert.Equal("the write failed half-way", (await Assert.ThrowsAsync<InvalidOperationException>(() => partial.DefaultTimeout())).Message);
        Assert.Contains("already exists", (await Assert.ThrowsAsync<InvalidOperationException>(() => duplicate.DefaultTimeout())).Message);
        await Task.WhenAll(appendBefore, update, appendAfter).DefaultTimeout();

        Assert.Equal(3, (await log.GetStateAsync("wf_kept").DefaultTimeout())!.Value.LastSequence);
        Assert.Equal(WorkflowStatuses.Running, (await store.GetAsync("wf_kept").DefaultTimeout())!.Status);
        await using var reader = await _files.OpenAnotherConnectionAsync();
        await using var count = reader.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM finishing WHERE workflow_id = 'wf_partial'";
        Assert.Equal(0L, (long)(await count.ExecuteScalarAsync().DefaultTimeout())!);
    }

    [Fact]
    public async Task ARecordWriteInABatchThatAnAppendBreaksGoesOnceMoreAndIsCommitted()
    {
        var database = _files.Open();
        var log = _files.OpenEventLog(database);
        var store = _files.OpenStore(database, log);
        await store.CreateAsync(Record("wf_refused")).DefaultTimeout();
        await log.AppendAsync(Status("wf_refused")).AsTask().DefaultTimeout();
        // A row the log does not know of holds the next sequence: the next append breaks the (workflow, sequence) index.
        await using var other = await _files.OpenAnotherConnectionAsync();
        await SqliteTestDatabase.ExecuteAsync(other, "INSERT INTO events (workflow_id, sequence, body) VALUES ('wf_refused', 2, x'00')");

        // The other connection holds the database: the writer takes this one alone and is seen waiting for the lock with
        // it, so the two after it queue up for one batch of their own.
        await SqliteTestDatabase.ExecuteAsync(other, "BEGIN IMMEDIATE;");
        var waits = database.LockWaits;
        var parked = log.AppendAsync(Status("wf_parked")).AsTask();
        await Poll.UntilAsync(() => Task.FromResult(database.LockWaits > waits), "the writer to wait for the database with the first append");
        var refused = log.AppendAsync(Status("wf_refused")).AsTask();
        var update = store.UpdateAsync("wf_refused", w => w with { Status = WorkflowStatuses.Running });
        await SqliteTestDatabase.ExecuteAsync(other, "COMMIT;");

        await parked.DefaultTimeout();
        Assert.Equal(19, (await Assert.ThrowsAsync<SqliteException>(() => refused.DefaultTimeout())).SqliteErrorCode);
        Assert.Equal(WorkflowStatuses.Running, (await update.DefaultTimeout())!.Status);
        Assert.Equal(WorkflowStatuses.Running, (await store.GetAsync("wf_refused").DefaultTimeout())!.Status);
    }

    [Fact]
    public async Task ARecordWriteQueuedAfterTheLogIsDisposedIsRefused()
    {
        var database = _files.Open();
        var log = new SqliteEventLog(
            database,
            Microsoft.Extensions.Options.Options.Create(new Felix.Server.Streaming.StreamingOptions()),
            Microsoft.Extensions.Options.Options.Create(_files.Options()),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<SqliteEventLog>.Instance);
        var store = _files.OpenStore(database, log);
        await store.CreateAsync(Record("wf_before")).DefaultTimeout();
        await log.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.CreateAsync(Record("wf_after")));
        Assert.NotNull(await store.GetAsync("wf_before").DefaultTimeout());
    }

    private static async Task<string[]> CreateRecordsAsync(SqliteWorkflowStore store, string prefix, int count)
    {
        var ids = Enumerable.Range(1, count).Select(i => prefix + i).ToArray();
        foreach (var id in ids)
        {
            await store.CreateAsync(Record(id)).DefaultTimeout();
        }

        return ids;
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
