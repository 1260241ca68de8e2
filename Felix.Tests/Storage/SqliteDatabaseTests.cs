using Felix.Server.Storage;
using Felix.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Felix.Tests.Storage;

/// <summary>
/// What the database holds on to: every connection it opened goes back to the pool or is closed, whichever way it
/// ends, and an in-memory database is gone once disposed. The handle counts read /proc/self/fd (Linux).
/// </summary>
public sealed class SqliteDatabaseTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _files = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _files.DisposeAsync().AsTask();

    [Fact]
    public async Task ALeaseDisposedWithoutAwaitingGoesBackToThePoolLikeAnyOther()
    {
        Assert.True(OperatingSystem.IsLinux(), "this test reads /proc/self/fd");
        var database = _files.Open();
        await database.QuickCheckAsync().DefaultTimeout();
        for (var i = 0; i < 20; i++)
        {
            using var lease = await database.OpenAsync().AsTask().DefaultTimeout();
            Assert.Equal(0L, await CountAsync(lease.Connection, "SELECT count(*) FROM events;"));
        }

        // One at a time, so the pool holds one connection, and nothing else holds the file.
        Assert.Equal(1, SqliteTestDatabase.HandlesOn(_files.File));
    }

    [Fact]
    public async Task ALeaseOfAnInMemoryDatabaseDisposedWithoutAwaitingLetsTheNextOneIn()
    {
        var database = _files.Open(inMemory: true);
        for (var i = 0; i < 3; i++)
        {
            using var lease = await database.OpenAsync().AsTask().DefaultTimeout();
            Assert.Equal(0L, await CountAsync(lease.Connection, "SELECT count(*) FROM events;"));
        }
    }

    [Fact]
    public async Task AnInMemoryDatabaseIsGoneOnceDisposed()
    {
        var database = new SqliteDatabase(_files.Options(inMemory: true), _files.Directory, NullLogger.Instance);
        var connectionString = await ConnectionStringAsync(database);
        await using (var probe = await OpenAsync(connectionString))
        {
            Assert.True(await CountAsync(probe, "SELECT count(*) FROM sqlite_master;") > 0); // the schema is there
        }

        await database.DisposeAsync();
        ClearPool(connectionString);

        // A shared-cache in-memory database lives while a connection to it is open: a new one finds an empty database.
        await using var after = await OpenAsync(connectionString);
        Assert.Equal(0L, await CountAsync(after, "SELECT count(*) FROM sqlite_master;"));
        Assert.False(File.Exists(_files.File));
    }

    [Fact]
    public async Task AnOpenThatFailsBeforeTheDatabaseIsReadyLetsTheNextOneTryAgain()
    {
        // A directory where the file should be: the first open, which creates the schema, cannot open the file.
        Directory.CreateDirectory(_files.File);
        var database = _files.Open();
        for (var i = 0; i < 2; i++)
        {
            // Each open tries again and fails the same way, rather than waiting for ever on the failed one's start-up.
            await Assert.ThrowsAsync<SqliteException>(() => database.OpenAsync().AsTask().DefaultTimeout(TimeSpan.FromSeconds(5)));
        }

        Directory.Delete(_files.File);
        Assert.Equal(SqliteDatabase.QuickCheckPassed, await database.QuickCheckAsync().DefaultTimeout());
    }

    private static async Task<string> ConnectionStringAsync(SqliteDatabase database)
    {
        await using var lease = await database.OpenAsync().AsTask().DefaultTimeout();
        return lease.Connection.ConnectionString;
    }

    private static async Task<SqliteConnection> OpenAsync(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static void ClearPool(string connectionString)
    {
        using var connection = new SqliteConnection(connectionString);
        SqliteConnection.ClearPool(connection);
    }

    private static async Task<long> CountAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
