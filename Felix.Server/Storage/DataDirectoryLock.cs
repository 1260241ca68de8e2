using System.Globalization;
using Felix.Server.Platform;
using Microsoft.Extensions.Options;

namespace Felix.Server.Storage;

/// <summary>
/// One process owns a SQLite data directory: a second one would run start-up recovery over the first one's running
/// workflows and write the same streams. The owner holds <c>felix.db.lock</c> open exclusively for its life (an advisory
/// <c>flock</c> on Unix, a sharing lock on Windows; the OS lets go when the process dies, however it dies) and writes
/// its process id, host and start time to <c>felix.db.owner</c> for the one that is refused.
/// </summary>
/// <remarks>
/// The owner is recorded in a second file because a file locked this way cannot be read through .NET by another
/// process. Nothing is written unless the lock was taken: a refused process leaves both files as they were.
/// </remarks>
internal sealed class DataDirectoryLock : IStartupCheck, IDisposable
{
    public const string LockSuffix = ".lock";
    public const string OwnerSuffix = ".owner";

    /// <summary>
    /// A restart can start the new process while the old one is still closing the database (a service manager, a test
    /// host disposing on another thread); an owner that is stopping lets go well within this, a running one never does.
    /// </summary>
    public static readonly TimeSpan OwnerExitWait = TimeSpan.FromSeconds(5);

    private readonly string? _databasePath;
    private readonly TimeProvider _time;
    private FileStream? _held;
    private FileStream? _heldDatabase;

    public DataDirectoryLock(IOptions<StorageOptions> options, IHostEnvironment environment, TimeProvider time)
    {
        var storage = options.Value;
        _time = time;
        if (storage.Provider == StorageProvider.Sqlite && storage.Database != StorageOptions.InMemoryDatabase)
        {
            _databasePath = Path.GetFullPath(Path.Combine(environment.ContentRootPath, storage.DataDirectory, storage.Database));
        }
    }

    public string? LockPath => _databasePath is null ? null : _databasePath + LockSuffix;

    public void Check()
    {
        if (_databasePath is null || _held is not null)
        {
            return;
        }

        var directory = Path.GetDirectoryName(_databasePath)!;
        try
        {
            Directory.CreateDirectory(directory);
            _held = TakeLock();
        }
        catch (IOException ex) when (File.Exists(LockPath))
        {
            throw new StartupException(
                $"{LockPath} is held by {ReadOwner()}: that process owns data directory {directory}. " +
                $"Stop it, or give this one its own {StorageOptions.SectionName}:DataDirectory.", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new StartupException($"Data directory {directory} is not usable ({StorageOptions.SectionName}:DataDirectory): {ex.Message}", ex);
        }

        try
        {
            _heldDatabase = TakeDatabaseLock();
        }
        catch (IOException ex)
        {
            // The lock file was taken, so whoever owns the database had its lock file removed from under it.
            Dispose();
            throw new StartupException(
                $"{_databasePath} is held by {ReadOwner()}: that process owns data directory {directory} " +
                $"(its {Path.GetFileName(LockPath)} was removed). Stop it, or give this one its own {StorageOptions.SectionName}:DataDirectory.", ex);
        }

        try
        {
            File.WriteAllText(_databasePath + OwnerSuffix, string.Create(CultureInfo.InvariantCulture,
                $"pid {Environment.ProcessId} on {Environment.MachineName}, started {_time.GetUtcNow():O}\n"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Dispose();
            throw new StartupException($"Data directory {directory} is not usable ({StorageOptions.SectionName}:DataDirectory): {ex.Message}", ex);
        }
    }

    private FileStream TakeLock()
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(LockPath!, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (waited.Elapsed < OwnerExitWait && File.Exists(LockPath))
            {
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>
    /// The lock file alone does not hold once someone deletes it ("a stale lock"): the next process would create a new
    /// one and run beside the owner. So the owner also holds an advisory lock on the database file itself (Unix:
    /// <c>flock</c>, which SQLite's own <c>fcntl</c> locks do not meet; on Windows an open lock file cannot be deleted).
    /// Null when there is no regular file to lock yet, or it cannot be opened: the database check reports that.
    /// </summary>
    private FileStream? TakeDatabaseLock()
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(_databasePath!, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (waited.Elapsed < OwnerExitWait && File.Exists(_databasePath))
            {
                Thread.Sleep(100);
            }
            catch (IOException) when (!File.Exists(_databasePath))
            {
                return null; // a directory in its place, or a path that cannot be a file
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
        }
    }

    private string ReadOwner()
    {
        try
        {
            return File.ReadAllText(_databasePath + OwnerSuffix).Trim() is { Length: > 0 } owner ? "another process (" + owner + ")" : "another process";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "another process";
        }
    }

    public void Dispose()
    {
        _heldDatabase?.Dispose();
        _heldDatabase = null;
        _held?.Dispose();
        _held = null;
    }
}
