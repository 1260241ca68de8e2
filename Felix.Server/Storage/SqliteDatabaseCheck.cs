using Felix.Server.Platform;
using Microsoft.Data.Sqlite;

namespace Felix.Server.Storage;

/// <summary>
/// Opens the database, brings its schema up to date and reads it through once (<c>PRAGMA quick_check</c>) before anything
/// else uses it, so a file that is not a database, a directory in its place or a damaged file stops the start with one
/// line naming the file, instead of failing start-up recovery with SQLite's message, which names no file. A full disk
/// stops it too, saying so: it is not a reason to restore the file.
/// </summary>
/// <remarks>
/// Runs after <see cref="DataDirectoryLock"/>: a database another process owns is never opened. <c>quick_check</c> reads
/// every page but skips the index cross-checks of <c>integrity_check</c>, so it stays a read of the file at start.
/// </remarks>
internal sealed class SqliteDatabaseCheck(SqliteDatabase database) : IStartupCheck
{
    public void Check()
    {
        if (database.IsInMemory)
        {
            return;
        }

        string verdict;
        try
        {
            // Start-up is synchronous and has no synchronization context; Microsoft.Data.Sqlite does its work inline.
            verdict = database.QuickCheckAsync().GetAwaiter().GetResult();
        }
        catch (SqliteException ex) when (SqliteFaults.IsDiskFull(ex))
        {
            // Opening after a crash writes (the write-ahead log's index is rebuilt): the file is fine, its disk is not.
            throw new StartupException(
                $"Database {database.FilePath} cannot be opened: its disk is full ({ex.Message.TrimEnd('.')}). The database was left as it was: " +
                "free space on that disk and start again (do not restore or move the database for this).", ex);
        }
        catch (SqliteException ex)
        {
            throw new StartupException($"Database {database.FilePath} is not usable ({Setting}): {ex.Message} Restore it from a backup or move it aside.", ex);
        }

        if (verdict != SqliteDatabase.QuickCheckPassed)
        {
            throw new StartupException($"Database {database.FilePath} is damaged ({Setting}): quick_check found '{verdict}'. Restore it from a backup or move it aside.");
        }
    }

    private static string Setting => $"{StorageOptions.SectionName}:Database in {StorageOptions.SectionName}:DataDirectory";
}
