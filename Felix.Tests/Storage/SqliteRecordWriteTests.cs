using System.Collections.Concurrent;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Storage;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Felix.Tests.Storage;

/// <summary>
/// The workflow store's writes (create, update, the end of finishing) join the event log writer's batches: they run on
/// its thread, in its transaction, and cost no commit of their own. Each runs in a savepoint, so one that fails fails
/// alone and the rest of its batch is committed.
/// </summary>
public sealed class SqliteRecordWriteTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _files = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _files.DisposeAsync().AsTask();

    [Fact]
    public async Task RecordUpdatesQueuedWithAppendsAreCommittedInTheWritersBatchOnItsThread()
    {
        var database = _files.Open();
        var log = _files.OpenEventLog(database);
        var store = _files.OpenStore(database, log);
        var ids = Enumerable.Range(1, 10).Select(i => $"wf_batch_{i}").ToArray();
        foreach (var id in ids)
        {
            await store.CreateAsync(Record(id)).DefaultTimeout();
        }

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
        await using var reader = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _files.File, Pooling = false }.ToString());
        await reader.OpenAsync().DefaultTimeout();
        await using var count = reader.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM finishing WHERE workflow_id = 'wf_partial'";
        Assert.Equal(0L, (long)(await count.ExecuteScalarAsync().DefaultTimeout())!);
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
