using Felix.Server.Storage;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;
using Felix.Contracts.Events;
using Microsoft.Data.Sqlite;

namespace Felix.Tests.Storage;

public sealed class SqliteEventLogTests : EventLogSpec, IAsyncLifetime
{
    private readonly SqliteTestDatabase _files = new();

    private protected override Task<IEventLog> CreateEventLogAsync(int maxEventsPerWorkflow = StreamingOptions.DefaultMaxEventsPerWorkflow) =>
        Task.FromResult<IEventLog>(_files.OpenEventLog(_files.Open(), maxEventsPerWorkflow));

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _files.DisposeAsync().AsTask();

    [Fact]
    public async Task ReopenedFileKeepsHistoryEpochAndContinuesSequences()
    {
        var first = _files.OpenEventLog(_files.Open());
        await AppendManyAsync(first, "wf_a", 5);
        var before = await first.GetStateAsync("wf_a").DefaultTimeout();
        await first.DisposeAsync();

        var second = _files.OpenEventLog(_files.Open());
        var next = Output("wf_a", 6);
        await second.AppendAsync(next).AsTask().DefaultTimeout();

        Assert.Equal(before!.Value.Epoch, next.Epoch);
        Assert.Equal(6, next.Sequence);
        var all = (await second.ReadAsync("wf_a", 0, 100).DefaultTimeout()).Events;
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L], all.Select(e => e.Sequence));
    }

    [Fact]
    public async Task AnEndedStreamKeepsNoPositionInMemoryAndItsRowStillAnswersForIt()
    {
        var log = _files.OpenEventLog(_files.Open());
        await AppendManyAsync(log, "wf_a", 3);
        await AppendManyAsync(log, "wf_running", 2);
        var terminal = new WorkflowErrorEvent { WorkflowId = "wf_a", Error = "done" };
        await log.AppendAsync(terminal, fence: 1).AsTask().DefaultTimeout();

        Assert.Equal(1, log.CursorCount); // the running one

        // Read back from the file: the same position and epoch, and still closed to writers.
        var state = await log.GetStateAsync("wf_a").DefaultTimeout();
        Assert.Equal((terminal.Epoch, 4L, 1L), (state!.Value.Epoch, state.Value.LastSequence, state.Value.FirstSequence));
        var refused = await Assert.ThrowsAsync<AppendRefusedException>(() => log.AppendAsync(Output("wf_a", 5), fence: 2).AsTask().DefaultTimeout());
        Assert.Equal(AppendRefusal.StreamEnded, refused.Reason);
        Assert.Equal(1, log.CursorCount);
    }

    [Fact]
    public async Task AnAppendCompletesOnlyOnceItsRowIsCommitted()
    {
        var log = _files.OpenEventLog(_files.Open());
        await AppendManyAsync(log, "wf_setup", 1);
        await using var other = await _files.OpenAnotherConnectionAsync();

        // Another writer holds the database: the log cannot commit, so its append must not complete.
        await ExecuteAsync(other, "BEGIN IMMEDIATE;");
        var append = log.AppendAsync(Output("wf_a", 1)).AsTask();
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.False(append.IsCompleted, "the append completed while its write could not have been committed");
        // Its sequence is handed out, but the stream's state counts only what is stored.
        Assert.Null(await log.GetStateAsync("wf_a").DefaultTimeout());
        await ExecuteAsync(other, "COMMIT;");
        await append.DefaultTimeout();

        // Another connection sees only committed rows: each one must be there the moment its append has returned.
        for (var i = 2; i <= 20; i++)
        {
            await log.AppendAsync(Output("wf_a", i)).AsTask().DefaultTimeout();
            Assert.Equal(1L, await ExecuteAsync(other, $"SELECT count(*) FROM events WHERE workflow_id = 'wf_a' AND sequence = {i};"));
        }
    }

    [Fact]
    public async Task ALoneAppendContinuesOnTheWritersThreadAndABatchsAppendsOnTheThreadPool()
    {
        var database = _files.Open();
        var log = _files.OpenEventLog(database);
        await AppendManyAsync(log, "wf_setup", 1);

        await using var other = await _files.OpenAnotherConnectionAsync();

        // Another writer holds the database, so each append below is surely waiting when its commit happens (the
        // writer is seen waiting for the lock, and the appender is seen awaiting its append).
        // Alone, the publisher goes on where the commit happened: no thread-pool worker is woken for it.
        await ExecuteAsync(other, "BEGIN IMMEDIATE;");
        var lone = AppendAndWatch(log, "wf_a");
        await WaitForLockWaitsAsync(database, 1);
        await lone.Awaiting.DefaultTimeout();
        await ExecuteAsync(other, "COMMIT;");
        Assert.Equal((SqliteEventLog.WriterThreadName, false), await lone.ContinuedOn.DefaultTimeout());

        // A first append waits for the database and two more queue up behind it: those two are one batch, and their
        // publishers go on on the thread pool, leaving the writer's thread to the next batch.
        await ExecuteAsync(other, "BEGIN IMMEDIATE;");
        var first = AppendAndWatch(log, "wf_b");
        await WaitForLockWaitsAsync(database, 2);
        var batched = new[] { AppendAndWatch(log, "wf_c"), AppendAndWatch(log, "wf_d") };
        await Task.WhenAll(new[] { first, batched[0], batched[1] }.Select(a => a.Awaiting)).DefaultTimeout();
        await ExecuteAsync(other, "COMMIT;");

        Assert.False((await first.ContinuedOn.DefaultTimeout()).Pooled);
        Assert.All(await Task.WhenAll(batched.Select(a => a.ContinuedOn)).DefaultTimeout(), c => Assert.True(c.Pooled));
    }

    private static async Task WaitForLockWaitsAsync(SqliteDatabase database, long waits)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (database.LockWaits < waits && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        Assert.Equal(waits, database.LockWaits);
    }

    /// <summary>
    /// Appends on a pool thread and reports where the append's continuation ran. <c>Awaiting</c> completes once the
    /// continuation is registered: an append completed before that (the appender's thread held up past the commit)
    /// would go on on the appender's own pool thread, whatever the log does.
    /// </summary>
    private static (Task Awaiting, Task<(string? Thread, bool Pooled)> ContinuedOn) AppendAndWatch(IEventLog log, string workflowId)
    {
        var awaiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var continued = new TaskCompletionSource<(string?, bool)>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(() =>
        {
            var append = log.AppendAsync(Output(workflowId, 1)).ConfigureAwait(false).GetAwaiter();
            if (append.IsCompleted)
            {
                awaiting.SetException(new InvalidOperationException("The append completed while the database was locked."));
                return;
            }

            append.UnsafeOnCompleted(() =>
            {
                try
                {
                    append.GetResult();
                    continued.SetResult((Thread.CurrentThread.Name, Thread.CurrentThread.IsThreadPoolThread));
                }
                catch (Exception e)
                {
                    continued.SetException(e);
                }
            });
            awaiting.SetResult();
        });
        return (awaiting.Task, continued.Task);
    }

    [Fact]
    public async Task AFailedWriteFailsItsAppendAndTheStreamContinuesWithoutAGap()
    {
        var log = _files.OpenEventLog(_files.Open());
        await AppendManyAsync(log, "wf_a", 2);
        // The database refuses this workflow's rows, as a full disk or a read-only file would.
        await ExecuteOutsideAsync("CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.workflow_id = 'wf_a' BEGIN SELECT RAISE(ABORT, 'refused'); END;");

        await Assert.ThrowsAsync<SqliteException>(() => log.AppendAsync(Output("wf_a", 3)).AsTask().DefaultTimeout());

        Assert.Equal(2, (await log.GetStateAsync("wf_a").DefaultTimeout())!.Value.LastSequence);
        await ExecuteOutsideAsync("DROP TRIGGER refuse;");
        var next = Output("wf_a", 3);
        await log.AppendAsync(next).AsTask().DefaultTimeout();
        Assert.Equal(3, next.Sequence);
        var all = (await log.ReadAsync("wf_a", 0, 100).DefaultTimeout()).Events;
        Assert.Equal([1L, 2L, 3L], all.Select(e => e.Sequence));
    }

    [Fact]
    public async Task AFailedWriteToAnInMemoryDatabaseLeavesNoTransactionOpenOnItsOneConnection()
    {
        // The in-memory database has one connection, shared and never reset by a pool: a batch that failed inside its
        // transaction must end it, or every later batch fails to begin its own.
        var database = _files.Open(inMemory: true);
        var log = _files.OpenEventLog(database);
        await AppendManyAsync(log, "wf_a", 2);
        await ExecuteOnAsync(database, "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.workflow_id = 'wf_a' BEGIN SELECT RAISE(ABORT, 'refused'); END;");

        await Assert.ThrowsAsync<SqliteException>(() => log.AppendAsync(Output("wf_a", 3)).AsTask().DefaultTimeout());

        await ExecuteOnAsync(database, "DROP TRIGGER refuse;");
        var next = Output("wf_a", 3);
        await log.AppendAsync(next).AsTask().DefaultTimeout();
        await log.AppendAsync(Output("wf_b", 1)).AsTask().DefaultTimeout();
        Assert.Equal([1L, 2L, 3L], (await log.ReadAsync("wf_a", 0, 100).DefaultTimeout()).Events.Select(e => e.Sequence));
    }

    private static async Task ExecuteOnAsync(SqliteDatabase database, string sql)
    {
        await using var lease = await database.OpenAsync();
        await using var command = lease.Command(sql);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task DisposingWaitsForTheAppendsAlreadyQueuedAndTheirRowsAreInTheFile()
    {
        const int streams = 20;
        var log = _files.OpenEventLog(_files.Open());
        // One event each first, so the next append of each stream is queued before AppendAsync returns.
        for (var i = 1; i <= streams; i++)
        {
            await AppendManyAsync(log, $"wf_{i:D2}", 1);
        }

        await using var other = await _files.OpenAnotherConnectionAsync();
        // Another writer holds the database: the second events wait in the log's queue when shutdown begins.
        await ExecuteAsync(other, "BEGIN IMMEDIATE;");
        var appends = Enumerable.Range(1, streams).Select(i => log.AppendAsync(Output($"wf_{i:D2}", 2)).AsTask()).ToList();
        var disposing = log.DisposeAsync().AsTask();
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.False(disposing.IsCompleted, "the log was disposed while appends were still queued");
        await ExecuteAsync(other, "COMMIT;");
        await disposing.DefaultTimeout();

        // Every append queued at shutdown succeeds, and its row is in the file for the next process.
        await Task.WhenAll(appends).DefaultTimeout();
        var reopened = _files.OpenEventLog(_files.Open());
        for (var i = 1; i <= streams; i++)
        {
            var events = (await reopened.ReadAsync($"wf_{i:D2}", 0, 10).DefaultTimeout()).Events;
            Assert.Equal([1L, 2L], events.Select(e => e.Sequence));
        }
    }

    private async Task ExecuteOutsideAsync(string sql)
    {
        await using var connection = await _files.OpenAnotherConnectionAsync();
        await ExecuteAsync(connection, sql);
    }

    private static Task<object?> ExecuteAsync(SqliteConnection connection, string sql) => SqliteTestDatabase.ExecuteAsync(connection, sql);

    [Fact]
    public async Task FencesAndTheEndOfAStreamSurviveAReopen()
    {
        var first = _files.OpenEventLog(_files.Open());
        await first.AppendAsync(Output("wf_a", 1), fence: 2).AsTask().DefaultTimeout();
        await first.AppendAsync(Output("wf_b", 1)).AsTask().DefaultTimeout();
        await first.AppendAsync(new WorkflowErrorEvent { WorkflowId = "wf_b", Error = "done" }).AsTask().DefaultTimeout();
        await first.DisposeAsync();

        var second = _files.OpenEventLog(_files.Open());

        Assert.Equal(AppendRefusal.StaleRun,
            (await Assert.ThrowsAsync<AppendRefusedException>(() => second.AppendAsync(Output("wf_a", 2), fence: 1).AsTask())).Reason);
        Assert.Equal(AppendRefusal.StreamEnded,
            (await Assert.ThrowsAsync<AppendRefusedException>(() => second.AppendAsync(Output("wf_b", 2)).AsTask())).Reason);
    }

    [Fact]
    public async Task AFileOfTheFirstSchemaIsMigratedAndKeepsItsHistory()
    {
        System.IO.Directory.CreateDirectory(_files.Directory);
        await ExecuteOutsideAsync("""
            CREATE TABLE streams (workflow_id TEXT NOT NULL PRIMARY KEY, epoch TEXT NOT NULL, first_sequence INTEGER NOT NULL, last_sequence INTEGER NOT NULL);
            CREATE TABLE events (workflow_id TEXT NOT NULL, sequence INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (workflow_id, sequence)) WITHOUT ROWID;
            INSERT INTO streams VALUES ('wf_old', 'e0ld', 1, 7);
            PRAGMA user_version = 1;
            """);

        var log = _files.OpenEventLog(_files.Open());
        var next = Output("wf_old", 8);
        await log.AppendAsync(next, fence: 1).AsTask().DefaultTimeout();

        Assert.Equal(("e0ld", 8L), (next.Epoch, next.Sequence));
    }

    [Fact]
    public async Task AFileOfTheThirdSchemaHasItsEventsRewrittenInAppendOrderAndKeepsEveryHistory()
    {
        // Up to version 3 the events were clustered by workflow (WITHOUT ROWID): a commit of one event from each of
        // many workflows wrote a page of the table per workflow. Build such a file from real appends.
        var first = _files.OpenEventLog(_files.Open());
        for (var i = 1; i <= 3; i++)
        {
            await AppendManyAsync(first, "wf_a", 1);
            await AppendManyAsync(first, "wf_b", 1);
        }

        await first.AppendAsync(new WorkflowErrorEvent { WorkflowId = "wf_b", Error = "done" }).AsTask().DefaultTimeout();
        var before = new List<IReadOnlyList<WorkflowEvent>>();
        foreach (var id in new[] { "wf_a", "wf_b" })
        {
            before.Add((await first.ReadAsync(id, 0, 100).DefaultTimeout()).Events);
        }

        await first.DisposeAsync();
        SqliteConnection.ClearAllPools();
        await ExecuteOutsideAsync("""
            ALTER TABLE events RENAME TO events_new;
            CREATE TABLE events (workflow_id TEXT NOT NULL, sequence INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (workflow_id, sequence)) WITHOUT ROWID;
            INSERT INTO events SELECT workflow_id, sequence, body FROM events_new;
            DROP TABLE events_new;
            PRAGMA user_version = 3;
            """);

        var reopened = _files.OpenEventLog(_files.Open());
        var next = Output("wf_a", 4);
        await reopened.AppendAsync(next).AsTask().DefaultTimeout();

        for (var i = 0; i < 2; i++)
        {
            var after = (await reopened.ReadAsync(i == 0 ? "wf_a" : "wf_b", 0, 100).DefaultTimeout()).Events;
            Assert.Equal(
                before[i].Select(e => (e.EventId, e.Type, e.Sequence)),
                after.Take(before[i].Count).Select(e => (e.EventId, e.Type, e.Sequence)));
        }

        Assert.Equal((before[0][0].Epoch, 4L), (next.Epoch, next.Sequence));
        await using var connection = await _files.OpenAnotherConnectionAsync();
        var table = (string)(await ExecuteAsync(connection, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'events';"))!;
        Assert.DoesNotContain("WITHOUT ROWID", table, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1L, await ExecuteAsync(connection, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'events_by_workflow';"));
        Assert.Equal(0L, await ExecuteAsync(connection, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'events_by_workflow_v3%';"));
        Assert.Equal("ok", await ExecuteAsync(connection, "PRAGMA integrity_check;"));
        Assert.Equal(4L, await ExecuteAsync(connection, "PRAGMA user_version;"));
    }

    [Fact]
    public async Task AFileOfTheSecondSchemaHasItsFinishedWorkflowsWithoutAnEndCheckedAtTheNextStart()
    {
        System.IO.Directory.CreateDirectory(_files.Directory);
        static string Record(string id, string status) =>
            $$"""{"id":"{{id}}","task":"t","maxSteps":1,"owner":"default","status":"{{status}}","createdAt":"2026-01-01T00:00:00+00:00"}""";
        await ExecuteOutsideAsync($"""
            CREATE TABLE workflows (id TEXT NOT NULL PRIMARY KEY, owner TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL, completed_at INTEGER NULL, record TEXT NOT NULL);
            CREATE TABLE streams (workflow_id TEXT NOT NULL PRIMARY KEY, epoch TEXT NOT NULL, first_sequence INTEGER NOT NULL, last_sequence INTEGER NOT NULL, fence INTEGER NOT NULL DEFAULT 0, ended INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE events (workflow_id TEXT NOT NULL, sequence INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (workflow_id, sequence)) WITHOUT ROWID;
            INSERT INTO workflows VALUES ('wf_unended', 'default', 'completed', 1, 2, '{Record("wf_unended", "completed")}');
            INSERT INTO workflows VALUES ('wf_ended', 'default', 'failed', 1, 2, '{Record("wf_ended", "failed")}');
            INSERT INTO workflows VALUES ('wf_streamless', 'default', 'cancelled', 1, 2, '{Record("wf_streamless", "cancelled")}');
            INSERT INTO workflows VALUES ('wf_running', 'default', 'running', 1, NULL, '{Record("wf_running", "running")}');
            INSERT INTO streams VALUES ('wf_unended', 'e1', 1, 2, 1, 0);
            INSERT INTO streams VALUES ('wf_ended', 'e2', 1, 3, 1, 1);
            INSERT INTO streams VALUES ('wf_running', 'e3', 1, 2, 1, 0);
            PRAGMA user_version = 2;
            """);

        var finishing = await _files.OpenStore(_files.Open()).ListFinishingAsync().DefaultTimeout();

        Assert.Equal(["wf_streamless", "wf_unended"], finishing.Select(w => w.Id).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(true, 2L)]
    [InlineData(false, 1L)]
    public async Task EveryConnectionToTheFileHasTheConfiguredSettingsAndTheFileTheCurrentSchema(bool full, long synchronous)
    {
        // Durability (synchronous) and readers beside the writer (WAL) are settings a test cannot see in behaviour short
        // of a power cut or a race; the connections must carry them. Waiting out another writer is a busy handler of
        // Felix's own (SqliteWriteTurnTests).
        var options = _files.Options();
        options.Synchronous = full ? SqliteSynchronous.Full : SqliteSynchronous.Normal;
        await using var database = new SqliteDatabase(options, _files.Directory, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await database.QuickCheckAsync().DefaultTimeout(); // creates the file and its schema

        // Two at once: the first may be the pooled connection that created the schema, the second is a new one.
        await using var pooled = await database.OpenAsync().AsTask().DefaultTimeout();
        await using var opened = await database.OpenAsync().AsTask().DefaultTimeout();

        foreach (var connection in new[] { pooled.Connection, opened.Connection })
        {
            Assert.Equal("wal", await ExecuteAsync(connection, "PRAGMA journal_mode;"));
            Assert.Equal(synchronous, await ExecuteAsync(connection, "PRAGMA synchronous;"));
            Assert.Equal(4L, await ExecuteAsync(connection, "PRAGMA user_version;"));
        }
    }

    [Fact]
    public async Task EveryConnectionGoesBackToThePoolSoTheProcessHoldsOneHandleOnTheFileThroughManyLeases()
    {
        // A connection that is not disposed never goes back to the pool: the next lease opens another, and the process
        // keeps a handle on the file for each until a finaliser runs. Linux lists a process's handles in /proc/self/fd.
        Assert.True(OperatingSystem.IsLinux(), "this test reads /proc/self/fd");
        await using var database = new SqliteDatabase(_files.Options(), _files.Directory, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.Equal(0, SqliteTestDatabase.HandlesOn(_files.File));

        await database.QuickCheckAsync().DefaultTimeout(); // creates the file and its schema on a connection of its own
        for (var i = 0; i < 20; i++)
        {
            await using var lease = await database.OpenAsync().AsTask().DefaultTimeout();
            Assert.Equal(0L, await ExecuteAsync(lease.Connection, "SELECT count(*) FROM events;"));
        }

        // One at a time, so the pool holds one connection, and nothing else holds the file.
        Assert.Equal(1, SqliteTestDatabase.HandlesOn(_files.File));
    }

    [Fact]
    public async Task OnceTheLogAndItsDatabaseAreDisposedNoConnectionHoldsTheFileEvenAfterAFailedWrite()
    {
        // The writer keeps its connection across batches and starts on a new one after a failure: the one that failed
        // and the one it kept at the end must both go back to the pool, or they hold the file until a finaliser runs.
        Assert.True(OperatingSystem.IsLinux(), "this test reads /proc/self/fd");
        var database = _files.Open();
        var log = _files.OpenEventLog(database);
        await AppendManyAsync(log, "wf_a", 2);
        await ExecuteOutsideAsync("CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.workflow_id = 'wf_a' BEGIN SELECT RAISE(ABORT, 'refused'); END;");
        await Assert.ThrowsAsync<SqliteException>(() => log.AppendAsync(Output("wf_a", 3)).AsTask().DefaultTimeout());
        await ExecuteOutsideAsync("DROP TRIGGER refuse;");
        await log.AppendAsync(Output("wf_a", 3)).AsTask().DefaultTimeout();
        Assert.True(SqliteTestDatabase.HandlesOn(_files.File) > 0);

        await log.DisposeAsync();
        await database.DisposeAsync();
        SqliteConnection.ClearAllPools(); // closes the connections the pool holds, not the ones never given back

        Assert.Equal(0, SqliteTestDatabase.HandlesOn(_files.File));
    }

    [Fact]
    public async Task AnAppendAfterTheLogWasDisposedIsRefusedAndStoresNothing()
    {
        var log = _files.OpenEventLog(_files.Open());
        await AppendManyAsync(log, "wf_a", 1);
        await log.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => log.AppendAsync(Output("wf_a", 2)).AsTask().DefaultTimeout());

        var reopened = _files.OpenEventLog(_files.Open());
        Assert.Equal([1L], (await reopened.ReadAsync("wf_a", 0, 10).DefaultTimeout()).Events.Select(e => e.Sequence));
    }

    [Fact]
    public async Task AppendsOfSeveralWorkflowsWrittenInOneBatchEachKeepTheirPositionAndEndAcrossAReopen()
    {
        var log = _files.OpenEventLog(_files.Open());
        await AppendManyAsync(log, "wf_a", 1);
        Task[] appends;
        // Another connection holds the write lock: the appends below wait in the writer's queue and are written together.
        await using (var blocker = await _files.OpenAnotherConnectionAsync())
        {
            await ExecuteAsync(blocker, "BEGIN IMMEDIATE;");
            appends =
            [
                log.AppendAsync(Output("wf_a", 2)).AsTask(),
                log.AppendAsync(Output("wf_b", 1)).AsTask(),
                log.AppendAsync(new WorkflowCompleteEvent { WorkflowId = "wf_a" }).AsTask(),
                log.AppendAsync(Output("wf_c", 1)).AsTask(),
            ];
            await ExecuteAsync(blocker, "ROLLBACK;");
        }

        await Task.WhenAll(appends).DefaultTimeout();
        await log.DisposeAsync();

        var reopened = _files.OpenEventLog(_files.Open());
        Assert.Equal(3, (await reopened.GetStateAsync("wf_a").DefaultTimeout())!.Value.LastSequence);
        Assert.Equal(1, (await reopened.GetStateAsync("wf_b").DefaultTimeout())!.Value.LastSequence);
        Assert.Equal(1, (await reopened.GetStateAsync("wf_c").DefaultTimeout())!.Value.LastSequence);
        var refused = await Assert.ThrowsAsync<AppendRefusedException>(() => reopened.AppendAsync(Output("wf_a", 4)).AsTask().DefaultTimeout());
        Assert.Equal(AppendRefusal.StreamEnded, refused.Reason);
        var next = Output("wf_c", 2);
        await reopened.AppendAsync(next).AsTask().DefaultTimeout();
        Assert.Equal(2, next.Sequence);
    }

    [Fact]
    public async Task InMemoryDatabaseWorksAndIsPrivateToItsInstance()
    {
        var one = _files.OpenEventLog(_files.Open(inMemory: true));
        var two = _files.OpenEventLog(_files.Open(inMemory: true));
        await AppendManyAsync(one, "wf_a", 3);

        Assert.Equal(3, (await one.ReadAsync("wf_a", 0, 10).DefaultTimeout()).Events.Count);
        Assert.Null(await two.GetStateAsync("wf_a").DefaultTimeout());
        Assert.False(System.IO.File.Exists(_files.File));
    }
}

public sealed class SqliteLocalFanoutTests : Streaming.LocalFanoutSpec
{
    private readonly SqliteTestDatabase _files = new();

    private protected override Task<IEventLog> CreateEventLogAsync() => Task.FromResult<IEventLog>(_files.OpenEventLog(_files.Open()));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _files.DisposeAsync();
    }
}
