using System.Text;
using System.Text.Json;
using Felix.Contracts;
using Felix.Contracts.Serialization;
using Felix.Server.Workflows;
using Microsoft.Data.Sqlite;

namespace Felix.Server.Storage;

/// <summary>
/// Keeps workflows in SQLite: the whole record as JSON, with the columns lists and retention filter on beside it.
/// </summary>
/// <remarks>
/// A workflow's id goes into <c>finishing</c> in the transaction that finishes its record, and leaves it in the
/// transaction that appends its terminal event (<see cref="SqliteEventLog"/>): whatever stops the process in between,
/// the next start finds it there, however long ago it was created, and reads nothing else.
/// </remarks>
internal sealed class SqliteWorkflowStore(SqliteDatabase database) : IWorkflowStore, IFinishingWorkflows
{
    private const int SqliteConstraint = 19;

    private static readonly JsonSerializerOptions Json = new JsonSerializerOptions(JsonSerializerDefaults.Web).AddFelixConverters();

    public async Task CreateAsync(WorkflowRecord workflow, CancellationToken cancellationToken = default)
    {
        await using var lease = await database.OpenForWriteAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await lease.Connection.BeginTransactionAsync(cancellationToken);
        await using var command = lease.Command("""
            INSERT INTO workflows (id, owner, status, created_at, completed_at, record)
            VALUES ($id, $owner, $status, $created, $completed, $record)
            """);
        Bind(command, workflow);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteConstraint)
        {
            throw new InvalidOperationException($"Workflow {workflow.Id} already exists.", ex);
        }

        if (WorkflowStatuses.IsTerminal(workflow.Status))
        {
            await MarkFinishingAsync(lease, workflow.Id, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<WorkflowRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var lease = await database.OpenAsync(cancellationToken);
        return await ReadOneAsync(lease, id, cancellationToken);
    }

    public async Task<WorkflowRecord?> UpdateAsync(string id, Func<WorkflowRecord, WorkflowRecord?> update, CancellationToken cancellationToken = default)
    {
        // This process's writers take turns, so a read-modify-write never interleaves with another; the immediate
        // transaction keeps it atomic against anything else writing the file.
        await using var lease = await database.OpenForWriteAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await lease.Connection.BeginTransactionAsync(cancellationToken);
        if (await ReadOneAsync(lease, id, cancellationToken) is not { } current || update(current) is not { } next)
        {
            return null;
        }

        await using var command = lease.Command("""
            UPDATE workflows SET owner = $owner, status = $status, created_at = $created, completed_at = $completed, record = $record
            WHERE id = $id
            """);
        Bind(command, next with { Id = id });
        await command.ExecuteNonQueryAsync(cancellationToken);
        if (!WorkflowStatuses.IsTerminal(current.Status) && WorkflowStatuses.IsTerminal(next.Status))
        {
            await MarkFinishingAsync(lease, id, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return next;
    }

    public async Task<(IReadOnlyList<WorkflowRecord> Items, int Total)> ListAsync(
        string? status, string? owner, int page, int pageSize, CancellationToken cancellationToken = default)
    {
        var where = new StringBuilder("WHERE 1 = 1");
        if (status is not null)
        {
            where.Append(" AND status = $status");
        }

        if (owner is not null)
        {
            where.Append(" AND owner = $owner");
        }

        await using var lease = await database.OpenAsync(cancellationToken);
        await using var count = lease.Command($"SELECT COUNT(*) FROM workflows {where}");
        await using var select = lease.Command($"SELECT record FROM workflows {where} ORDER BY created_at DESC, id DESC LIMIT $limit OFFSET $offset");
        foreach (var command in new[] { count, select })
        {
            if (status is not null)
            {
                command.Parameters.AddWithValue("$status", status);
            }

            if (owner is not null)
            {
                command.Parameters.AddWithValue("$owner", owner);
            }
        }

        select.Parameters.AddWithValue("$limit", pageSize);
        select.Parameters.AddWithValue("$offset", (long)(page - 1) * pageSize);
        var total = Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        var items = new List<WorkflowRecord>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(Deserialize(reader.GetString(0)));
        }

        return (items, total);
    }

    public async Task<IReadOnlyList<WorkflowRecord>> ListFinishingAsync(CancellationToken cancellationToken = default)
    {
        await using var lease = await database.OpenAsync(cancellationToken);
        await using var select = lease.Command("SELECT w.record FROM finishing f JOIN workflows w ON w.id = f.workflow_id");
        var items = new List<WorkflowRecord>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(Deserialize(reader.GetString(0)));
        }

        return items;
    }

    public async Task ConfirmEndedAsync(string workflowId, CancellationToken cancellationToken = default)
    {
        await using var lease = await database.OpenForWriteAsync(cancellationToken);
        await using var command = lease.Command("DELETE FROM finishing WHERE workflow_id = $id");
        command.Parameters.AddWithValue("$id", workflowId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task MarkFinishingAsync(SqliteDatabase.Lease lease, string workflowId, CancellationToken cancellationToken)
    {
        await using var command = lease.Command("INSERT OR IGNORE INTO finishing (workflow_id) VALUES ($id)");
        command.Parameters.AddWithValue("$id", workflowId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<WorkflowRecord?> ReadOneAsync(SqliteDatabase.Lease lease, string id, CancellationToken cancellationToken)
    {
        await using var command = lease.Command("SELECT record FROM workflows WHERE id = $id");
        command.Parameters.AddWithValue("$id", id);
        return await command.ExecuteScalarAsync(cancellationToken) is string json ? Deserialize(json) : null;
    }

    private static void Bind(SqliteCommand command, WorkflowRecord workflow)
    {
        command.Parameters.AddWithValue("$id", workflow.Id);
        command.Parameters.AddWithValue("$owner", workflow.Owner);
        command.Parameters.AddWithValue("$status", workflow.Status);
        command.Parameters.AddWithValue("$created", workflow.CreatedAt.UtcTicks);
        command.Parameters.AddWithValue("$completed", workflow.CompletedAt is { } completed ? completed.UtcTicks : DBNull.Value);
        command.Parameters.AddWithValue("$record", JsonSerializer.Serialize(workflow, Json));
    }

    private static WorkflowRecord Deserialize(string json) =>
        JsonSerializer.Deserialize<WorkflowRecord>(json, Json) ?? throw new InvalidDataException("A stored workflow record is empty.");
}
