using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Felix.Server.Streaming;
using MessagePack;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Felix.Server.Storage;

/// <summary>
/// Keeps histories in SQLite. Appends from every workflow queue up for one background writer that commits whatever is
/// waiting in one transaction (a group commit), so persistence costs one fsync per batch rather than per event. An
/// append completes only after its batch is committed, which is what lets <see cref="EventPublisher"/> deliver it.
/// </summary>
/// <remarks>
/// The writer is the database's: the workflow store's record writes join the same batches (<see cref="WriteAsync"/>),
/// in the order they were queued among the appends, each in a savepoint of its own so that one that fails (a
/// duplicate id, an update that throws) fails alone. A storage fault fails the whole batch, appends and records alike.
/// </remarks>
internal sealed partial class SqliteEventLog : IEventLog, IAsyncDisposable
{
    private readonly SqliteDatabase _database;
    private readonly ILogger _logger;
    private readonly int _maxEvents;
    private readonly int _maxBatch;
    // The streams being written. An ended stream's position is read from its row when asked: a server that runs for
    // weeks must not keep one per finished workflow until retention deletes it.
    private readonly ConcurrentDictionary<string, Cursor> _cursors = new(StringComparer.Ordinal);
    private long _forgotten;
    private readonly List<(string WorkflowId, Cursor Cursor, long Last, bool Ended)> _batchStreams = [];
    private readonly List<PendingAppend> _batchAppends = [];
    private readonly WriterThread<PendingWrite> _writer;
    private long _commits;
    private SqliteDatabase.Lease? _writerLease;
    private WriteStatements? _statements;

    public SqliteEventLog(
        SqliteDatabase database, IOptions<StreamingOptions> streaming, IOptions<StorageOptions> storage, ILogger<SqliteEventLog> logger)
    {
        _database = database;
        _logger = logger;
        _maxEvents = streaming.Value.MaxEventsPerWorkflow;
        _maxBatch = storage.Value.MaxBatchSize;
        _writer = new WriterThread<PendingWrite>(WriterThreadName, _maxBatch, WriteBatch);
    }

    internal const string WriterThreadName = "Felix SQLite writer";

    /// <summary>Transactions the writer committed: one per batch.</summary>
    internal long Commits => Interlocked.Read(ref _commits);

    /// <summary>
    /// Runs <paramref name="write"/> on the writer's thread inside the next batch's transaction, with the connection
    /// that holds it, and completes once that batch is committed. The function must be quick and touch nothing but
    /// the connection: every append of the batch waits for it. What it throws fails this write alone, unless it is a
    /// storage fault, which fails the batch.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<SqliteConnection, T> write, CancellationToken cancellationToken = default)
    {
        // Once queued a write is not taken back: a caller that gave up could not tell whether it was committed.
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        var pending = new PendingRecordWrite<T>(write);
        return _writer.TryAdd(pending)
            ? pending.Completion.Task
            : Task.FromException<T>(new ObjectDisposedException(nameof(SqliteEventLog), "The event log is shutting down."));
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask AppendAsync(WorkflowEvent evt, long fence = 0, CancellationToken cancellationToken = default)
    {
        var cursor = await GetCursorAsync(evt.WorkflowId, cancellationToken)
            ?? _cursors.GetOrAdd(evt.WorkflowId, static _ => new Cursor(EventIds.NewEpoch(), 0, 1));
        PendingAppend pending;
        lock (cursor)
        {
            // Checked when the sequence is handed out: a write that fails later reloads the cursor, fences included.
            cursor.Fences.Admit(evt, fence);
            evt.Sequence = cursor.Assigned + 1;
            evt.Epoch = cursor.Epoch;
            evt.EventId = EventIds.Format(cursor.Epoch, evt.Sequence);
            cursor.Assigned = evt.Sequence;
            pending = new PendingAppend(evt.WorkflowId, cursor, evt.Sequence, evt.IsTerminal,
                MessagePackSerializer.Serialize<WorkflowEvent>(evt, FelixSerialization.MessagePackOptions, CancellationToken.None));
        }

        if (!_writer.TryAdd(pending))
        {
            throw new ObjectDisposedException(nameof(SqliteEventLog), "The event log is shutting down.");
        }

        try
        {
            await pending.Completion.Task;
        }
        catch
        {
            // The sequence was handed out but not stored: read the stream's position from the database again.
            Forget(evt.WorkflowId, cursor);
            throw;
        }
    }

    public async ValueTask<StreamState?> GetStateAsync(string workflowId, CancellationToken cancellationToken = default)
    {
        if (await GetCursorAsync(workflowId, cancellationToken) is not { } cursor)
        {
            return null;
        }

        lock (cursor)
        {
            return cursor.Stored == 0 ? null : new StreamState(cursor.Epoch, cursor.Stored, cursor.First);
        }
    }

    public async ValueTask<HistoryPage> ReadAsync(string workflowId, long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        var events = new List<WorkflowEvent>();
        await using (var lease = await _database.OpenAsync(cancellationToken))
        {
            await using var command = lease.Command(
                "SELECT body FROM events WHERE workflow_id = $id AND sequence > $after ORDER BY sequence LIMIT $limit");
            command.Parameters.AddWithValue("$id", workflowId);
            command.Parameters.AddWithValue("$after", afterSequence);
            command.Parameters.AddWithValue("$limit", limit);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var body = (byte[])reader[0];
                events.Add(MessagePackSerializer.Deserialize<WorkflowEvent>(body, FelixSerialization.MessagePackOptions, cancellationToken));
            }
        }

        // Sequences are contiguous, so a first event past the asked position means the ones between were pruned.
        var truncated = events.Count > 0 && events[0].Sequence > afterSequence + 1;
        return events.Count == 0 ? HistoryPage.Empty : new HistoryPage(events, truncated);
    }

    /// <summary>Drops what is known about a stream whose rows were deleted (retention).</summary>
    internal void Forget(string workflowId)
    {
        if (_cursors.TryRemove(workflowId, out _))
        {
            Interlocked.Increment(ref _forgotten);
        }
    }

    /// <summary>The streams whose position is held in memory: those written since they were last read from the file.</summary>
    internal int CursorCount => _cursors.Count;

    private void Forget(string workflowId, Cursor cursor)
    {
        if (_cursors.TryRemove(new KeyValuePair<string, Cursor>(workflowId, cursor)))
        {
            Interlocked.Increment(ref _forgotten);
        }
    }

    private async ValueTask<Cursor?> GetCursorAsync(string workflowId, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_cursors.TryGetValue(workflowId, out var cursor))
            {
                return cursor;
            }

            var forgotten = Volatile.Read(ref _forgotten);
            if (await LoadCursorAsync(workflowId, cancellationToken) is not { } loaded)
            {
                return null;
            }

            if (loaded.Fences.Ended)
            {
                // Final: nothing more is written to it, so the row stays right and there is nothing to keep.
                return loaded;
            }

            cursor = _cursors.GetOrAdd(workflowId, loaded);
            // A stream forgotten between the read and the add (it ended, or a write failed) may have been read before
            // that: keep no position older than the file's, read it again.
            if (!ReferenceEquals(cursor, loaded) || Volatile.Read(ref _forgotten) == forgotten)
            {
                return cursor;
            }

            _cursors.TryRemove(new KeyValuePair<string, Cursor>(workflowId, loaded));
        }
    }

    private async ValueTask<Cursor?> LoadCursorAsync(string workflowId, CancellationToken cancellationToken)
    {
        await using var lease = await _database.OpenAsync(cancellationToken);
        await using var command = lease.Command("SELECT epoch, first_sequence, last_sequence, fence, ended FROM streams WHERE workflow_id = $id");
        command.Parameters.AddWithValue("$id", workflowId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var loaded = new Cursor(reader.GetString(0), reader.GetInt64(2), reader.GetInt64(1));
        loaded.Fences.Fence = reader.GetInt64(3);
        loaded.Fences.Ended = reader.GetInt64(4) != 0;
        return loaded;
    }

    /// <summary>
    /// Writes one batch on the writer's thread and completes its appends. A batch of one (a workflow at a model's pace)
    /// continues its publisher right here, delivery included, instead of waking a thread-pool worker for it. The
    /// appends of a larger batch continue together on one thread-pool worker, so the writer is free for the next batch
    /// and a batch costs one wake-up, not one per append.
    /// </summary>
    private void WriteBatch(List<PendingWrite> batch)
    {
        // The writer's thread is the only caller: one list serves every batch.
        var appends = _batchAppends;
        appends.Clear();
        foreach (var pending in batch)
        {
            if (pending is PendingAppend append)
            {
                appends.Add(append);
            }
        }

        Exception? failure = null;
        try
        {
            var trims = Write(batch, appends);
            foreach (var pending in appends)
            {
                lock (pending.Cursor)
                {
                    pending.Cursor.Stored = Math.Max(pending.Cursor.Stored, pending.Sequence);
                    if (trims is not null && trims.TryGetValue(pending.Cursor, out var first))
                    {
                        pending.Cursor.First = first;
                    }
                }

                if (pending.Terminal)
                {
                    // Its row now says it ended, which is all a later reader or writer needs.
                    Forget(pending.WorkflowId, pending.Cursor);
                }
            }
        }
        catch (Exception ex)
        {
            LogBatchFailed(_logger, ex, batch.Count);
            failure = ex;
        }

        foreach (var pending in batch)
        {
            if (pending is not PendingRecordWrite record)
            {
                continue;
            }

            // A batch that failed on something neither the storage's nor the record write's own (an append the schema
            // refused) took the record write down with it: it goes once more, in a later batch.
            if (failure is not null && !IsStorageFault(failure) && record.RetryOnce() && _writer.TryAdd(record))
            {
                continue;
            }

            // Its continuations run on the thread pool, never on the writer's thread.
            record.Complete(failure);
        }

        if (appends.Count == 1)
        {
            appends[0].Complete(failure);
        }
        else if (appends.Count > 1)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static state =>
            {
                foreach (var pending in state.Batch)
                {
                    pending.Complete(state.Failure);
                }
            }, (Batch: appends.ToArray(), Failure: failure), preferLocal: false);
        }
    }

    private Dictionary<Cursor, long>? Write(List<PendingWrite> batch, List<PendingAppend> appends)
    {
        Dictionary<Cursor, long>? trims = null;
        using var turn = _database.EnterWrite(); // the writer's own thread: it may block
        var lease = _writerLease ?? _database.OpenAsync().AsTask().GetAwaiter().GetResult();
        try
        {
            var statements = _statements ??= new WriteStatements(lease.Connection);
            statements.Begin();
            foreach (var pending in batch)
            {
                if (pending is PendingAppend append)
                {
                    statements.Insert(append.WorkflowId, append.Sequence, append.Body);
                }
                else if (pending is PendingRecordWrite record)
                {
                    statements.Savepoint();
                    if (record.Run(lease.Connection))
                    {
                        statements.Release();
                    }
                    else
                    {
                        statements.RollBackToSavepoint();
                    }
                }
            }

            foreach (var stream in Streams(appends))
            {
                var (workflowId, cursor, last, ended) = stream;
                long first, fence;
                lock (cursor)
                {
                    first = cursor.First;
                    fence = cursor.Fences.Fence;
                }

                // Retention by count drops the oldest events once the stream has ended (a running workflow's history is
                // its checkpoint); the epoch stays, and a resume from before them is told so.
                if (ended && last - first + 1 > _maxEvents)
                {
                    first = last - _maxEvents + 1;
                    statements.Trim(workflowId, first);
                    (trims ??= [])[cursor] = first;
                }

                statements.Upsert(workflowId, cursor.Epoch, first, last, fence, ended);
                if (ended)
                {
                    // Its end is written: the workflow is no longer one that recovery must finish (SqliteWorkflowStore).
                    statements.Ended(workflowId);
                }
            }

            statements.Commit();
            Interlocked.Increment(ref _commits);
            // A file database's writer keeps its connection and prepared statements; the in-memory one is shared.
            _writerLease = _database.IsInMemory ? null : lease;
        }
        catch
        {
            // The connection may be what failed: the next batch starts on a new one.
            _statements?.RollBack();
            _statements?.Dispose();
            _statements = null;
            if (!_database.IsInMemory)
            {
                _writerLease = null;
                lease.Dispose();
            }

            throw;
        }
        finally
        {
            if (_database.IsInMemory)
            {
                lease.Dispose();
            }
        }

        return trims;
    }

    /// <summary>
    /// Each workflow of a batch once, in the order of its first append, with its cursor (the first append's), last
    /// sequence and whether it ended. A batch holds a handful of workflows, so a list beats a grouping's allocations.
    /// </summary>
    private List<(string WorkflowId, Cursor Cursor, long Last, bool Ended)> Streams(List<PendingAppend> batch)
    {
        // The writer's thread is the only caller: one list serves every batch.
        var streams = _batchStreams;
        streams.Clear();
        foreach (var pending in batch)
        {
            var i = 0;
            while (i < streams.Count && !string.Equals(streams[i].WorkflowId, pending.WorkflowId, StringComparison.Ordinal))
            {
                i++;
            }

            if (i == streams.Count)
            {
                streams.Add((pending.WorkflowId, pending.Cursor, pending.Sequence, pending.Terminal));
            }
            else
            {
                var stream = streams[i];
                streams[i] = stream with { Last = Math.Max(stream.Last, pending.Sequence), Ended = stream.Ended || pending.Terminal };
            }
        }

        return streams;
    }

    public async ValueTask DisposeAsync()
    {
        // Appends already queued are written before the log goes away; a crash is what loses unacknowledged ones.
        _writer.Complete();
        await _writer.Stopped;
        _statements?.Dispose();
        _writerLease?.Dispose();
    }

    private static bool IsStorageFault(Exception exception) => exception is SqliteException sqlite && SqliteFaults.IsStorageFault(sqlite);

    [LoggerMessage(EventId = 6101, Level = LogLevel.Error, Message = "Writing a batch of {Count} appends and record writes failed; its appends fail")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);

    /// <summary>A stream's position: sequences handed out, sequences committed, and the oldest kept.</summary>
    private sealed class Cursor(string epoch, long stored, long first)
    {
        public string Epoch { get; } = epoch;
        public long Assigned { get; set; } = stored;
        public long Stored { get; set; } = stored;
        public long First { get; set; } = first;

        public StreamFences Fences { get; } = new();
    }

    /// <summary>What the writer's thread takes in turn: an append, or a record write of the workflow store.</summary>
    private abstract class PendingWrite;

    private sealed class PendingAppend(string workflowId, Cursor cursor, long sequence, bool terminal, byte[] body) : PendingWrite
    {
        public string WorkflowId { get; } = workflowId;
        public Cursor Cursor { get; } = cursor;
        public long Sequence { get; } = sequence;
        public bool Terminal { get; } = terminal;
        public byte[] Body { get; } = body;

        // Continuations run where the append is completed: WriteBatch chooses the thread.
        public TaskCompletionSource Completion { get; } = new();

        public void Complete(Exception? failure)
        {
            if (failure is null)
            {
                Completion.TrySetResult();
            }
            else
            {
                Completion.TrySetException(failure);
            }
        }
    }

    private abstract class PendingRecordWrite : PendingWrite
    {
        /// <summary>
        /// Runs the write in the open transaction; false when it failed on its own (its savepoint is rolled back).
        /// A storage fault is thrown on: it fails the batch.
        /// </summary>
        public abstract bool Run(SqliteConnection connection);

        /// <summary>
        /// Completes with the write's own failure, if it had one (its savepoint was undone whatever the batch did), else
        /// with the batch's failure, else with its result.
        /// </summary>
        public abstract void Complete(Exception? batchFailure);

        /// <summary>Readies a write that succeeded on its own in a batch that failed to go once more; false if it went twice.</summary>
        public abstract bool RetryOnce();
    }

    private sealed class PendingRecordWrite<T>(Func<SqliteConnection, T> write) : PendingRecordWrite
    {
        private T? _result;
        private Exception? _failure;
        private bool _retried;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override bool Run(SqliteConnection connection)
        {
            try
            {
                _result = write(connection);
                return true;
            }
            catch (Exception ex) when (!IsStorageFault(ex))
            {
                _failure = ex;
                return false;
            }
        }

        public override bool RetryOnce()
        {
            if (_retried || _failure is not null)
            {
                return false;
            }

            _retried = true;
            _result = default;
            return true;
        }

        public override void Complete(Exception? batchFailure)
        {
            if ((_failure ?? batchFailure) is { } failure)
            {
                Completion.TrySetException(failure);
            }
            else
            {
                Completion.TrySetResult(_result!);
            }
        }
    }

    /// <summary>The writer's statements, prepared once on its connection and bound anew for each row.</summary>
    private sealed class WriteStatements : IDisposable
    {
        private readonly PreparedStatement _insert;
        private readonly PreparedStatement _upsert;
        private readonly PreparedStatement _trim;
        private readonly PreparedStatement _ended;
        private readonly PreparedStatement _begin;
        private readonly PreparedStatement _commit;
        private readonly PreparedStatement _rollback;
        private readonly PreparedStatement _savepoint;
        private readonly PreparedStatement _release;
        private readonly PreparedStatement _rollBackToSavepoint;
        private readonly SqliteConnection _connection;

        public WriteStatements(SqliteConnection connection)
        {
            _connection = connection;
            _begin = new PreparedStatement(connection, "BEGIN IMMEDIATE");
            _commit = new PreparedStatement(connection, "COMMIT");
            _rollback = new PreparedStatement(connection, "ROLLBACK");
            _savepoint = new PreparedStatement(connection, "SAVEPOINT record_write");
            _release = new PreparedStatement(connection, "RELEASE record_write");
            _rollBackToSavepoint = new PreparedStatement(connection, "ROLLBACK TO record_write");
            _insert = new PreparedStatement(connection, "INSERT INTO events (workflow_id, sequence, body) VALUES (?1, ?2, ?3)");
            _upsert = new PreparedStatement(connection, """
                INSERT INTO streams (workflow_id, epoch, first_sequence, last_sequence, fence, ended) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                ON CONFLICT (workflow_id) DO UPDATE SET first_sequence = excluded.first_sequence, last_sequence = excluded.last_sequence,
                    fence = max(fence, excluded.fence), ended = max(ended, excluded.ended)
                """);
            _trim = new PreparedStatement(connection, "DELETE FROM events WHERE workflow_id = ?1 AND sequence < ?2");
            _ended = new PreparedStatement(connection, "DELETE FROM finishing WHERE workflow_id = ?1");
        }

        /// <summary>
        /// Opens the batch's transaction with a statement prepared once, as SQLite's own <c>BEGIN IMMEDIATE</c>: the
        /// provider's <c>BeginTransaction</c> prepares its <c>BEGIN</c> and <c>COMMIT</c> anew on every commit.
        /// </summary>
        public void Begin() => _begin.Execute();

        public void Commit() => _commit.Execute();

        public void Savepoint() => _savepoint.Execute();

        public void Release() => _release.Execute();

        /// <summary>Undoes what a failed record write did and ends its savepoint; the batch's transaction goes on.</summary>
        public void RollBackToSavepoint()
        {
            _rollBackToSavepoint.Execute();
            _release.Execute();
        }

        /// <summary>Ends a failed batch's transaction, if it is still open, before its connection goes back to the pool.</summary>
        public void RollBack()
        {
            try
            {
                if (_connection.Handle is { } handle && SQLitePCL.raw.sqlite3_get_autocommit(handle) == 0)
                {
                    _rollback.Execute();
                }
            }
            catch (SqliteException)
            {
                // The connection is broken; disposing it is all that is left.
            }
        }

        public void Insert(string workflowId, long sequence, byte[] body) =>
            _insert.Bind(1, workflowId).Bind(2, sequence).Bind(3, body).Execute();

        public void Upsert(string workflowId, string epoch, long first, long last, long fence, bool ended) =>
            _upsert.Bind(1, workflowId).Bind(2, epoch).Bind(3, first).Bind(4, last).Bind(5, fence).Bind(6, ended ? 1 : 0).Execute();

        public void Trim(string workflowId, long first) => _trim.Bind(1, workflowId).Bind(2, first).Execute();

        public void Ended(string workflowId) => _ended.Bind(1, workflowId).Execute();

        public void Dispose()
        {
            _insert.Dispose();
            _upsert.Dispose();
            _trim.Dispose();
            _ended.Dispose();
            _begin.Dispose();
            _commit.Dispose();
            _rollback.Dispose();
            _savepoint.Dispose();
            _release.Dispose();
            _rollBackToSavepoint.Dispose();
        }
    }
}
