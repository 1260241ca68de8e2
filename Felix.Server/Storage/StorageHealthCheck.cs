using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Felix.Server.Storage;

/// <summary>
/// Readiness of the embedded store: a write the size of one small row, committed, so a full disk or a read-only or
/// vanished file takes the node out of rotation until writes succeed again. In-memory storage is always ready.
/// </summary>
internal sealed class StorageHealthCheck(IServiceProvider services) : IHealthCheck
{
    private const string Probe = """
        CREATE TABLE IF NOT EXISTS health (id INTEGER NOT NULL PRIMARY KEY, checked_at INTEGER NOT NULL);
        INSERT INTO health (id, checked_at) VALUES (1, unixepoch()) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at;
        """;

    private long _writes;

    /// <summary>Probe writes made so far: what a caller that polls readiness costs the disk.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!StorageExtensions.IsSqlite(services) || services.GetRequiredService<SqliteDatabase>() is not { IsInMemory: false } database)
        {
            return HealthCheckResult.Healthy("In memory.");
        }

        try
        {
            await using var lease = await database.OpenForWriteAsync(cancellationToken);
            await using var command = lease.Command(Probe);
            Interlocked.Increment(ref _writes);
            await command.ExecuteNonQueryAsync(cancellationToken);
            return HealthCheckResult.Healthy("The database can be written.");
        }
        catch (SqliteException ex) when (SqliteFaults.IsStorageFault(ex))
        {
            // The probes answer without credentials, so the answer names the fault, not the file; its path is in the
            // data, which the log of the readiness change carries and the answer does not.
            return HealthCheckResult.Unhealthy(
                $"The database cannot be written: {ex.Message}",
                ex,
                new Dictionary<string, object> { ["path"] = database.FilePath ?? "" });
        }
    }
}
