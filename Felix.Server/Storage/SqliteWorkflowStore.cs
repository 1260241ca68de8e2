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
/// Writes join the event log writer's batches (<see cref="SqliteEventLog.WriteAsync{T}"/>): a workflow's record
/// updates cost no commit of their own, and no thread-pool worker blocks in SQLite waiting for its turn to write.
/// A workflow's id goes into <c>finishing</c> in the transaction that finishes its record, and leaves it in the
/// transaction that appends its terminal event (<see cref="SqliteEventLog"/>): whatever stops the process in between,
/// the next start finds it there, however long ago it was created, and reads nothing else.
/// </remarks>
internal sealed class SqliteWorkflowStore(SqliteDatabase database, SqliteEventLog writer) : IWorkflowStore, IFinishingWorkflows
{
    private const int SqliteConstraint = 19;

    private const string Insert = """
        INSERT INTO workflows (id, owner, status, created_at, completed_at, record)
        VALUES ($id, $owner, $status, $created, $completed, $record)
        """;

    private const string Update = """
        UPDATE workflows SET owner = $owner, status = $status, created_at = $created, completed_at = $completed, record = $record
        WHERE id = $id
        """;

    private static readonly JsonSerializerOptions Json = new JsonSerializerOptions(JsonSerializerDefaults.Web).AddFelixConverters();

    public Task CreateAsync(WorkflowRecord workflow, CancellationToken cancellationToken = default)
    {
        var record = JsonSerializer.Serialize(workflow, Json); // off the writer's thread
        return writer.WriteAsync(connection =>
        {
            using var command = Command(connection, Insert);
            Bind(command, workflow, record);
            try
            {
                command.ExecuteNonQuery();
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteConstraint)
            {
                throw new InvalidOperationException($"Workflow {workflow.Id} already exists.", ex);
            }

            if (WorkflowStatuses.IsTerminal(workflow.Status))
            {
                MarkFinishing(connection, workflow.Id);
            }

            return true;
        }, cancellationToken);
    }

    public async Task<WorkflowRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var lease = await database.OpenAsync(cancellationToken);
        return await ReadOneAsync(lease, id, cancellationToken);
    }

    public Task<WorkflowRecord?> UpdateAsync(string id, Func<WorkflowRecord, WorkflowRecord?> update, CancellationToken cancellationToken = default) =>
        // Read, changed and written in the writer's transaction: no other write of this process comes between.
        writer.WriteAsync(connection =>
        {
            using var read = Command(connection, "SELECT record FROM workflows WHERE id = $id");
            read.Parameters.AddWithValue("$id", id);
            if (read.ExecuteScalar() is not string json)
            {
                return null;
            }

            var current = Deserialize(json);
            if (update(current) is not { } next)
            {
                return null;
            }

            next = next with { Id = id };
            using var command = Command(connection, Update);
            Bind(command, next, JsonSerializer.Serialize(next, Json));
            command.ExecuteNonQuery();
            if (!WorkflowStatuses.IsTerminal(current.Status) && WorkflowStatuses.IsTerminal(next.Status))
            {
                MarkFinishing(connection, id);
            }

            return next;
        }, cancellationToken);

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

    public Task ConfirmEndedAsync(string workflowId, CancellationToken cancellationToken = default) =>
        writer.WriteAsync(connection =>
        {
            using var command = Command(connection, "DELETE FROM finishing WHERE workflow_id = $id");
            command.Parameters.AddWithValue("$id", workflowId);
            return command.ExecuteNonQuery();
        }, cancellationToken);

    private static void MarkFinishing(SqliteConnection connection, string workflowId)
    {
        using var command = Command(connection, "INSERT OR IGNORE INTO finishing (workflow_id) VALUES ($id)");
        command.Parameters.AddWithValue("$id", workflowId);
        command.ExecuteNonQuery();
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    private static async Task<WorkflowRecord?> ReadOneAsync(SqliteDatabase.Lease lease, string id, CancellationToken cancellationToken)
    {
        await using var command = lease.Command("SELECT record FROM workflows WHERE id = $id");
        command.Parameters.AddWithValue("$id", id);
        return await command.ExecuteScalarAsync(cancellationToken) is string json ? Deserialize(json) : null;
    }

    private static void Bind(SqliteCommand command, WorkflowRecord workflow, string record)
    {
        command.Parameters.AddWithValue("$id", workflow.Id);
        command.Parameters.AddWithValue("$owner", workflow.Owner);
        command.Parameters.AddWithValue("$status", workflow.Status);
        command.Parameters.AddWithValue("$created", workflow.CreatedAt.UtcTicks);
        command.Parameters.AddWithValue("$completed", workflow.CompletedAt is { } completed ? completed.UtcTicks : DBNull.Value);
        command.Parameters.AddWithValue("$record", record);
    }

    private static WorkflowRecord Deserialize(string json) =>
        JsonSerializer.Deserialize<WorkflowRecord>(json, Json) ?? throw new InvalidDataException("A stored workflow record is empty.");
}
