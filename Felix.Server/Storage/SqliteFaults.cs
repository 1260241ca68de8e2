using Microsoft.Data.Sqlite;

namespace Felix.Server.Storage;

/// <summary>SQLite errors that say the storage under the database failed, not that a statement was wrong.</summary>
internal static class SqliteFaults
{
    private const int Busy = 5;
    private const int ReadOnly = 8;
    private const int IoError = 10;
    private const int Corrupt = 11;
    private const int Full = 13;
    private const int CantOpen = 14;

    public static bool IsStorageFault(SqliteException exception) =>
        exception.SqliteErrorCode is Busy or ReadOnly or IoError or Corrupt or Full or CantOpen;

    /// <summary>The disk (or the file system's quota) has no room for what SQLite had to write.</summary>
    public static bool IsDiskFull(SqliteException exception) => exception.SqliteErrorCode == Full;
}
