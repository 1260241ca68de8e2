using System.Collections.Concurrent;
using System.Threading.Channels;
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
internal sealed partial class SqliteEventLog : IEventLog, IAsyncDisposable
{
    private readonly SqliteDatabase _database;
    private readonly ILogger _logger;
    private readonly int _maxEvents;
    private readonly int _maxBatch;
    private readonly ConcurrentDictionary<string, Cursor> _cursors = new(StringComparer.Ordinal);
    private readonly Channel<PendingAppend> _queue = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    public SqliteEventLog(
        SqliteDatabase database, IOptions<StreamingOptions> streaming, IOptions<StorageOptions> storage, ILogger<SqliteEventLog> logger)
    {
        _database = database;
        _logger = logger;
        _maxEvents = streaming.Value.MaxEventsPerWorkflow;
        _maxBatch = storage.Value.MaxBatchSize;
        _writer = Task.Run(WriteLoopAsync);
    }

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

        if (!_queue.Writer.TryWrite(pending))
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
            _cursors.TryRemove(new KeyValuePair<string, Cursor>(evt.WorkflowId, cursor));
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
    internal void Forget(string workflowId) => _cursors.TryRemove(workflowId, out _);

    private async ValueTask<Cursor?> GetCursorAsync(string workflowId, CancellationToken cancellationToken)
    {
        if (_cursors.TryGetValue(workflowId, out var cursor))
        {
            return cursor;
        }

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
        return _cursors.GetOrAdd(workflowId, loaded);
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<PendingAppend>(_maxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            try
            {
                var trims = await WriteBatchAsync(batch);
                foreach (var pending in batch)
                {
                    lock (pending.Cursor)
                    {
                        pending.Cursor.Stored = Math.Max(pending.Cursor.Stored, pending.Sequence);
                        if (trims.TryGetValue(pending.Cursor, out var first))
                        {
                            pending.Cursor.First = first;
                        }
                    }

                    pending.Completion.TrySetResult();
                }
            }
            catch (Exception ex)
            {
                LogBatchFailed(_logger, ex, batch.Count);
                foreach (var pending in batch)
                {
                    pending.Completion.TrySetException(ex);
                }
            }
        }
    }

    private async Task<Dictionary<Cursor, long>> WriteBatchAsync(List<PendingAppend> batch)
    {
        var trims = new Dictionary<Cursor, long>();
        await using var lease = await _database.OpenAsync();
        await using var transaction = (SqliteTransaction)await lease.Connection.BeginTransactionAsync();
        await using (var insert = lease.Command("INSERT INTO events (workflow_id, sequence, body) VALUES ($id, $sequence, $body)"))
        {
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            var sequence = insert.Parameters.Add("$sequence", SqliteType.Integer);
            var body = insert.Parameters.Add("$body", SqliteType.Blob);
            foreach (var pending in batch)
            {
                id.Value = pending.WorkflowId;
                sequence.Value = pending.Sequence;
                body.Value = pending.Body;
                await insert.ExecuteNonQueryAsync();
            }
        }

        await using var upsert = lease.Command("""
            INSERT INTO streams (workflow_id, epoch, first_sequence, last_sequence, fence, ended) VALUES ($id, $epoch, $first, $last, $fence, $ended)
            ON CONFLICT (workflow_id) DO UPDATE SET first_sequence = excluded.first_sequence, last_sequence = excluded.last_sequence,
                fence = max(fence, excluded.fence), ended = max(ended, excluded.ended)
            """);
        await using var trim = lease.Command("DELETE FROM events WHERE workflow_id = $id AND sequence < $first");
        foreach (var stream in batch.GroupBy(p => p.WorkflowId, StringComparer.Ordinal))
        {
            var cursor = stream.First().Cursor;
            var last = stream.Max(p => p.Sequence);
            var ended = stream.Any(p => p.Terminal);
            long first, fence;
            lock (cursor)
            {
                first = cursor.First;
                fence = cursor.Fences.Fence;
            }

            // Retention by count drops the oldest events; the epoch stays, and a resume from before them is told so.
            if (last - first + 1 > _maxEvents)
            {
                first = last - _maxEvents + 1;
                trim.Parameters.Clear();
                trim.Parameters.AddWithValue("$id", stream.Key);
                trim.Parameters.AddWithValue("$first", first);
                await trim.ExecuteNonQueryAsync();
                trims[cursor] = first;
            }

            upsert.Parameters.Clear();
            upsert.Parameters.AddWithValue("$id", stream.Key);
            upsert.Parameters.AddWithValue("$epoch", cursor.Epoch);
            upsert.Parameters.AddWithValue("$first", first);
            upsert.Parameters.AddWithValue("$last", last);
            upsert.Parameters.AddWithValue("$fence", fence);
            upsert.Parameters.AddWithValue("$ended", ended ? 1 : 0);
            await upsert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return trims;
    }

    public async ValueTask DisposeAsync()
    {
        // Appends already queued are written before the log goes away; a crash is what loses unacknowledged ones.
        _queue.Writer.TryComplete();
        await _writer;
    }

    [LoggerMessage(EventId = 6101, Level = LogLevel.Error, Message = "Writing a batch of {Count} events failed; their appends fail")]
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

    private sealed record PendingAppend(string WorkflowId, Cursor Cursor, long Sequence, bool Terminal, byte[] Body)
    {
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
