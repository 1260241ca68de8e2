using Felix.Server.Storage;
using Felix.Server.Streaming;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

/// <summary>A SQLite database file in its own temporary directory, deleted with the test class.</summary>
internal sealed class SqliteTestDatabase : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _opened = [];

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "felix-tests-" + Guid.NewGuid().ToString("N"));

    public string File => Path.Combine(Directory, StorageOptions.DefaultDatabase);

    public StorageOptions Options(bool inMemory = false) => new()
    {
        DataDirectory = Directory,
        Database = inMemory ? StorageOptions.InMemoryDatabase : StorageOptions.DefaultDatabase,
        // Tests stop at process crashes, not power cuts.
        Synchronous = SqliteSynchronous.Normal,
    };

    /// <summary>Another program's connection to the file (a backup, the sqlite3 shell): not the server's writers' turns.</summary>
    public async Task<SqliteConnection> OpenAnotherConnectionAsync()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = File, Pooling = false }.ToString());
        await connection.OpenAsync().DefaultTimeout();
        return connection;
    }

    /// <summary>Runs <paramref name="sql"/> on <paramref name="connection"/>: its first column of the first row, if any.</summary>
    public static async Task<object?> ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync().DefaultTimeout();
    }

    public SqliteDatabase Open(bool inMemory = false)
    {
        var database = new SqliteDatabase(Options(inMemory), Directory, NullLogger.Instance);
        _opened.Add(database);
        return database;
    }

    public SqliteEventLog OpenEventLog(SqliteDatabase database, int maxEventsPerWorkflow = StreamingOptions.DefaultMaxEventsPerWorkflow)
    {
        var log = new SqliteEventLog(
            database,
            Microsoft.Extensions.Options.Options.Create(new StreamingOptions { MaxEventsPerWorkflow = maxEventsPerWorkflow }),
            Microsoft.Extensions.Options.Options.Create(Options()),
            NullLogger<SqliteEventLog>.Instance);
        _opened.Insert(0, log);
        return log;
    }

    /// <summary>A workflow store on <paramref name="database"/>, writing through <paramref name="log"/>'s writer (or a log of its own).</summary>
    public SqliteWorkflowStore OpenStore(SqliteDatabase database, SqliteEventLog? log = null) =>
        new(database, log ?? OpenEventLog(database));

    /// <summary>The handles this process holds on <paramref name="file"/>; Linux lists them in /proc/self/fd.</summary>
    public static int HandlesOn(string file)
    {
        var path = Path.GetFullPath(file);
        return System.IO.Directory.GetFiles("/proc/self/fd").Count(fd =>
        {
            try
            {
                return System.IO.File.ResolveLinkTarget(fd, returnFinalTarget: false)?.FullName == path;
            }
            catch (IOException)
            {
                return false; // closed since it was listed
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var opened in _opened)
        {
            await opened.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
