using Felix.Contracts;
using Microsoft.Extensions.Options;

namespace Felix.Server.Storage;

/// <summary>
/// Deletes finished workflows older than <see cref="StorageOptions.MaxFinishedAge"/> with their histories. Only finished
/// workflows qualify, so a running workflow never loses its stream; a client that asks for a deleted one gets a 404.
/// </summary>
internal sealed partial class SqliteRetention(
    SqliteDatabase database,
    SqliteEventLog eventLog,
    IOptions<StorageOptions> options,
    TimeProvider time,
    ILogger<SqliteRetention> logger)
{
    public async Task<int> PruneAsync(CancellationToken cancellationToken = default)
    {
        var cutoff = time.GetUtcNow() - options.Value.MaxFinishedAge;
        var deleted = new List<string>();
        await using (var lease = await database.OpenForWriteAsync(cancellationToken))
        {
            await using var transaction = await lease.Connection.BeginTransactionAsync(cancellationToken);
            await using (var select = lease.Command($"""
                DELETE FROM workflows
                WHERE status IN ('{WorkflowStatuses.Completed}', '{WorkflowStatuses.Failed}', '{WorkflowStatuses.Cancelled}')
                  AND completed_at IS NOT NULL AND completed_at < $cutoff
                RETURNING id
                """))
            {
                select.Parameters.AddWithValue("$cutoff", cutoff.UtcTicks);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    deleted.Add(reader.GetString(0));
                }
            }

            await using var events = lease.Command("DELETE FROM events WHERE workflow_id = $id");
            await using var streams = lease.Command("DELETE FROM streams WHERE workflow_id = $id");
            await using var finishing = lease.Command("DELETE FROM finishing WHERE workflow_id = $id");
            foreach (var id in deleted)
            {
                foreach (var command in new[] { events, streams, finishing })
                {
                    command.Parameters.Clear();
                    command.Parameters.AddWithValue("$id", id);
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }
            }

            await transaction.CommitAsync(cancellationToken);
        }

        foreach (var id in deleted)
        {
            eventLog.Forget(id);
        }

        if (deleted.Count > 0)
        {
            LogPruned(logger, deleted.Count, cutoff);
        }

        return deleted.Count;
    }

    [LoggerMessage(EventId = 6201, Level = LogLevel.Information, Message = "Retention deleted {Count} workflows finished before {Cutoff}")]
    private static partial void LogPruned(ILogger logger, int count, DateTimeOffset cutoff);
}
