using System.ComponentModel.DataAnnotations;
using Felix.Server.Platform;

namespace Felix.Server.Storage;

/// <summary>Where workflows and their event histories are kept (<c>Felix:Storage</c>).</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Felix:Storage";

    /// <summary>Relative to the content root, like the original's working-directory files; <c>data/</c> is git-ignored.</summary>
    public const string DefaultDataDirectory = "data";

    public const string DefaultDatabase = "felix.db";

    /// <summary>The <see cref="Database"/> value that keeps the SQLite database in process memory (tests, throwaway runs).</summary>
    public const string InMemoryDatabase = ":memory:";

    /// <summary>A month of finished workflows is plenty to look back on and keeps the file small on a busy server.</summary>
    public const int DefaultMaxFinishedAgeDays = 30;

    /// <summary>A group commit takes whatever queued while the last one was written; this caps one transaction's size.</summary>
    public const int DefaultMaxBatchSize = 512;

    /// <summary><see cref="StorageProvider.Sqlite"/> (the embedded default) or <see cref="StorageProvider.InMemory"/>.</summary>
    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>Directory of the SQLite file; relative paths are under the content root. Created on first start.</summary>
    [Required]
    public string DataDirectory { get; set; } = DefaultDataDirectory;

    /// <summary>The SQLite file name (or absolute path), or <c>:memory:</c> for a database that lives as long as the process.</summary>
    [Required]
    public string Database { get; set; } = DefaultDatabase;

    /// <summary>
    /// SQLite <c>synchronous</c> setting. <see cref="SqliteSynchronous.Full"/> keeps acknowledged events through a power cut;
    /// <see cref="SqliteSynchronous.Normal"/> keeps them through a process crash only, and is faster.
    /// </summary>
    public SqliteSynchronous Synchronous { get; set; } = SqliteSynchronous.Full;

    /// <summary>Most events written in one transaction by the background writer.</summary>
    [Range(1, 100_000)]
    public int MaxBatchSize { get; set; } = DefaultMaxBatchSize;

    /// <summary>Finished (completed, failed, cancelled) workflows older than this are deleted with their history.</summary>
    [Duration("00:00:00.001", Maximum = "36500.00:00:00")]
    public TimeSpan MaxFinishedAge { get; set; } = TimeSpan.FromDays(DefaultMaxFinishedAgeDays);

    /// <summary>How often the retention sweep runs.</summary>
    [Duration("00:00:00.001")]
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);
}

public enum StorageProvider
{
    Sqlite,
    InMemory,
}

public enum SqliteSynchronous
{
    Normal,
    Full,
}
