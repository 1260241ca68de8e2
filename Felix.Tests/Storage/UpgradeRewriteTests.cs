using System.Diagnostics;
using Felix.Contracts;
using Felix.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Felix.Tests.Storage;

/// <summary>
/// The first start after an upgrade rewrites a file's events in append order (schema version 4) in one transaction: a
/// server killed (SIGKILL) in the middle of it leaves the file as it was, and the next start rewrites it whole.
/// </summary>
public sealed class UpgradeRewriteTests : DataDirectoryTest
{
    // Enough rows that the rewrite takes seconds, so the kill lands inside it (checked below, not assumed).
    private const int FillerWorkflows = 3_000;
    private const int FillerEventsEach = 200;

    [Fact]
    public async Task AServerKilledWhileItRewritesTheLogStartsAgainWithEveryHistoryWhole()
    {
        var settings = StorageTestSettings.SqliteFile(Files.Directory, ("Felix:Llm:OfflineTokenDelay", "00:00:00"))
            .ToDictionary(p => p.Key, p => p.Value!);
        var ids = new List<string>();
        var before = new Dictionary<string, List<string>>();
        await using (var app = new FelixApplication(settings!))
        {
            var client = app.CreateApiClient();
            for (var i = 0; i < 2; i++)
            {
                var id = (await client.CreateWorkflowAsync($"Upgraded task {i}", maxSteps: 2)).WorkflowId;
                Assert.Equal(WorkflowStatuses.Completed, (await client.WaitForTerminalAsync(id)).Status);
                ids.Add(id);
                before[id] = (await client.ReadEventsAsync(id)).Select(e => $"{e.EventId} {e.Type}").ToList();
            }
        }

        SqliteConnection.ClearAllPools();
        await WriteAsVersion3Async();

        // The rewrite's log line is Information; the test servers log warnings only.
        var info = ServerProcess.StartInfo(Files.Directory, settings);
        info.Environment["Logging__LogLevel__Felix.Server.Storage.SqliteDatabase"] = "Information";
        using (var process = Process.Start(info)!)
        {
            var rewriting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data?.Contains("[6002]", StringComparison.Ordinal) == true)
                {
                    rewriting.TrySetResult();
                }
            };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await rewriting.Task.WaitAsync(TimeSpan.FromSeconds(60));
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }

        // The kill came before the commit: the file is still the old layout, not half of each.
        await using (var killed = await OpenAsync())
        {
            Assert.Equal(0L, await ScalarAsync(killed, "SELECT count(*) FROM sqlite_schema WHERE name = 'events_by_workflow_v3';"));
        }

        Assert.True(await IsClusteredAsync(), "the kill landed after the rewrite committed: the test proves nothing (more filler rows)");

        await using (var app = new FelixApplication(settings!))
        {
            var client = app.CreateApiClient();
            foreach (var id in ids)
            {
                Assert.Equal(before[id], (await client.ReadEventsAsync(id)).Select(e => $"{e.EventId} {e.Type}").ToList());
                DurableHistory.AssertOneRun(await client.ReadEventsAsync(id));
            }

            // A workflow run after the upgrade appends to the rewritten log.
            var after = (await client.CreateWorkflowAsync("After the upgrade", maxSteps: 1)).WorkflowId;
            Assert.Equal(WorkflowStatuses.Completed, (await client.WaitForTerminalAsync(after)).Status);
            DurableHistory.AssertOneRun(await client.ReadEventsAsync(after));
        }

        Assert.False(await IsClusteredAsync());
        await using var connection = await OpenAsync();
        Assert.Equal((long)FillerWorkflows * FillerEventsEach, await ScalarAsync(connection, "SELECT count(*) FROM events WHERE workflow_id LIKE 'filler_%';"));
        Assert.Equal("ok", await ScalarAsync(connection, "PRAGMA integrity_check;"));
    }

    /// <summary>The layout of versions 1 to 3 (events clustered by workflow), with filler history of other workflows.</summary>
    private async Task WriteAsVersion3Async()
    {
        await using var connection = await OpenAsync();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                BEGIN;
                ALTER TABLE events RENAME TO events_new;
                CREATE TABLE events (workflow_id TEXT NOT NULL, sequence INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (workflow_id, sequence)) WITHOUT ROWID;
                INSERT INTO events SELECT workflow_id, sequence, body FROM events_new;
                DROP TABLE events_new;
                PRAGMA user_version = 3;
                """;
            await command.ExecuteNonQueryAsync();
        }

        await using (var insert = connection.CreateCommand())
        {
            insert.CommandText = "INSERT INTO events (workflow_id, sequence, body) VALUES ($id, $sequence, zeroblob(200));";
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            var sequence = insert.Parameters.Add("$sequence", SqliteType.Integer);
            for (var w = 0; w < FillerWorkflows; w++)
            {
                for (var s = 1; s <= FillerEventsEach; s++)
                {
                    id.Value = $"filler_{w:D5}";
                    sequence.Value = s;
                    await insert.ExecuteNonQueryAsync();
                }
            }
        }

        await using var commit = connection.CreateCommand();
        commit.CommandText = "COMMIT;";
        await commit.ExecuteNonQueryAsync();
    }

    private async Task<bool> IsClusteredAsync()
    {
        await using var connection = await OpenAsync();
        return await ScalarAsync(connection, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'events';") is string sql
            && sql.Contains("WITHOUT ROWID", StringComparison.OrdinalIgnoreCase);
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Files.File, Pooling = false }.ToString());
        await connection.OpenAsync();
        return connection;
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }
}
