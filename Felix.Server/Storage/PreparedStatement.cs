using System.Diagnostics;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Felix.Server.Storage;

/// <summary>
/// One SQL statement prepared once on the log writer's connection and run again per row through SQLite's own calls:
/// bind, step, reset. <see cref="SqliteCommand.ExecuteNonQuery"/> costs about 400 bytes a row (a data reader, a
/// statement iterator, a binder per parameter, the parameter names and text values converted to UTF-8 again, each
/// number boxed), which at a model's pace was most of what the SQLite store allocated per event beyond the in-memory
/// one; this binds without allocating.
/// </summary>
/// <remarks>
/// Busy and locked statements are retried as <see cref="SqliteCommand"/> retries them (a shared-cache database locks
/// tables against its readers, which the connection's busy timeout does not cover), until its default command timeout.
/// </remarks>
internal sealed class PreparedStatement : IDisposable
{
    private const int Busy = 5;
    private const int Locked = 6;
    private const int Done = 101;
    private const int Row = 100;
    private const int MaxStackText = 256;
    private static readonly TimeSpan RetryFor = TimeSpan.FromSeconds(30);

    private readonly sqlite3 _database;
    private readonly sqlite3_stmt _statement;

    public PreparedStatement(SqliteConnection connection, string sql)
    {
        _database = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        var rc = raw.sqlite3_prepare_v2(_database, sql, out _statement);
        SqliteException.ThrowExceptionForRC(rc, _database);
    }

    public PreparedStatement Bind(int index, long value)
    {
        Check(raw.sqlite3_bind_int64(_statement, index, value));
        return this;
    }

    public PreparedStatement Bind(int index, string value)
    {
        // SQLite copies what is bound (SQLITE_TRANSIENT), so a buffer on the stack will do for the ids bound here.
        var length = Encoding.UTF8.GetMaxByteCount(value.Length);
        Span<byte> utf8 = length <= MaxStackText ? stackalloc byte[MaxStackText] : new byte[length];
        var written = Encoding.UTF8.GetBytes(value, utf8);
        Check(raw.sqlite3_bind_text(_statement, index, utf8[..written]));
        return this;
    }

    public PreparedStatement Bind(int index, ReadOnlySpan<byte> blob)
    {
        Check(raw.sqlite3_bind_blob(_statement, index, blob));
        return this;
    }

    /// <summary>Runs the statement to its end and resets it for the next row.</summary>
    public void Execute()
    {
        try
        {
            var rc = raw.sqlite3_step(_statement);
            if (IsBusy(rc))
            {
                var retrying = Stopwatch.StartNew();
                while (IsBusy(rc) && retrying.Elapsed < RetryFor)
                {
                    raw.sqlite3_reset(_statement);
                    Thread.Sleep(150);
                    rc = raw.sqlite3_step(_statement);
                }
            }

            if (rc is not (Done or Row))
            {
                SqliteException.ThrowExceptionForRC(rc, _database);
            }
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    public void Dispose() => _statement.Dispose();

    private static bool IsBusy(int rc) => (rc & 0xFF) is Busy or Locked;

    private void Check(int rc) => SqliteException.ThrowExceptionForRC(rc, _database);
}
