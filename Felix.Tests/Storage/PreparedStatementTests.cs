using Felix.Server.Storage;
using Felix.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Felix.Tests.Storage;

/// <summary>
/// The log writer's statements, run through SQLite's own calls: a row is bound and written, the statement is ready for
/// the next one, and a table locked by a reader of a shared-cache database (the in-memory store's) is waited for, as
/// <see cref="SqliteCommand"/> waits, instead of failing the batch.
/// </summary>
public sealed class PreparedStatementTests
{
    [Fact]
    public void RowsAreBoundAndWrittenOneAfterAnother()
    {
        using var connection = Open(SharedMemory());
        Execute(connection, "CREATE TABLE t (id TEXT NOT NULL, n INTEGER NOT NULL, body BLOB NOT NULL)");
        using (var insert = new PreparedStatement(connection, "INSERT INTO t (id, n, body) VALUES (?1, ?2, ?3)"))
        {
            insert.Bind(1, "wf_ä").Bind(2, 7).Bind(3, [1, 2, 3]).Execute();
            insert.Bind(1, new string('x', 1000)).Bind(2, long.MaxValue).Bind(3, [4]).Execute();
        }

        Assert.Equal(["wf_ä|7|010203", $"{new string('x', 1000)}|{long.MaxValue}|04"], Rows(connection));
    }

    [Fact]
    public void AFailedStatementThrowsSqlitesErrorAndTheNextRowStillGoesIn()
    {
        using var connection = Open(SharedMemory());
        Execute(connection, "CREATE TABLE t (id TEXT NOT NULL PRIMARY KEY, n INTEGER NOT NULL, body BLOB NOT NULL)");
        using var insert = new PreparedStatement(connection, "INSERT INTO t (id, n, body) VALUES (?1, ?2, ?3)");
        insert.Bind(1, "a").Bind(2, 1).Bind(3, [1]).Execute();

        var error = Assert.Throws<SqliteException>(() => insert.Bind(1, "a").Bind(2, 2).Bind(3, [2]).Execute());
        Assert.Equal(19, error.SqliteErrorCode); // SQLITE_CONSTRAINT
        insert.Bind(1, "b").Bind(2, 3).Bind(3, [3]).Execute();
        Assert.Equal(["a|1|01", "b|3|03"], Rows(connection));
    }

    [Fact]
    public async Task AWriteToATableAReaderHoldsWaitsForTheReader()
    {
        var source = SharedMemory();
        using var writer = Open(source);
        Execute(writer, "CREATE TABLE t (id TEXT NOT NULL, n INTEGER NOT NULL, body BLOB NOT NULL); INSERT INTO t VALUES ('a', 1, x'01'), ('b', 2, x'02')");
        using var readerConnection = Open(source);
        using var select = readerConnection.CreateCommand();
        select.CommandText = "SELECT id FROM t";
        var reader = select.ExecuteReader();
        Assert.True(reader.Read()); // mid-read: the shared cache holds a read lock on t

        using var insert = new PreparedStatement(writer, "INSERT INTO t (id, n, body) VALUES (?1, ?2, ?3)");
        var write = Task.Run(() => insert.Bind(1, "c").Bind(2, 3).Bind(3, [3]).Execute());
        await Task.Delay(300);
        reader.Dispose();
        await write.DefaultTimeout();

        Assert.Equal(["a|1|01", "b|2|02", "c|3|03"], Rows(writer));
    }

    private static string SharedMemory() => new SqliteConnectionStringBuilder
    {
        DataSource = "prepared-" + Guid.NewGuid().ToString("N"), Mode = SqliteOpenMode.Memory, Cache = SqliteCacheMode.Shared,
    }.ToString();

    private static SqliteConnection Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static List<string> Rows(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, n, hex(body) FROM t ORDER BY id";
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add($"{reader.GetString(0)}|{reader.GetInt64(1)}|{reader.GetString(2)}");
        }

        return rows;
    }
}
