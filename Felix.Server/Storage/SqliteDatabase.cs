using Felix.Contracts;
using Felix.Server.Observability;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Felix.Server.Storage;

/// <summary>
/// The SQLite database that holds workflows and event histories: opens connections with the configured settings and
/// creates the schema on first use. An in-memory database has one connection, taken in turn.
/// </summary>
/// <remarks>
/// SQLite lets one connection write at a time, and a writer that finds the file locked sleeps and tries again, backing
/// off from 1 ms to 100 ms between tries: far longer than a commit holds the lock, and the event log's writer holds up
/// every workflow's events while it sleeps. So this process's writers take turns through <see cref="OpenForWriteAsync"/>
/// and <see cref="EnterWrite"/>, each woken the moment the previous one is done, and the lock is only ever found taken
/// by another process (a backup, the <c>sqlite3</c> shell): those waits are counted (<see cref="LockWaits"/>).
/// </remarks>
internal sealed partial class SqliteDatabase : IAsyncDisposable
{
    private const int SchemaVersion = 4;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS workflows (
            id TEXT NOT NULL PRIMARY KEY,
            owner TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            completed_at INTEGER NULL,
            record TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS workflows_by_created ON workflows (created_at DESC, id DESC);
        CREATE INDEX IF NOT EXISTS workflows_by_status ON workflows (status, created_at DESC);
        CREATE TABLE IF NOT EXISTS streams (
            workflow_id TEXT NOT NULL PRIMARY KEY,
            epoch TEXT NOT NULL,
            first_sequence INTEGER NOT NULL,
            last_sequence INTEGER NOT NULL,
            fence INTEGER NOT NULL DEFAULT 0,
            ended INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS events (
            id INTEGER PRIMARY KEY,
            workflow_id TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            body BLOB NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS events_by_workflow ON events (workflow_id, sequence);
        CREATE TABLE IF NOT EXISTS finishing (
            workflow_id TEXT NOT NULL PRIMARY KEY
        ) WITHOUT ROWID;
        """;

    /// <summary>
    /// Version 4 stores events in the order they are appended (a rowid table) and finds a workflow's through an index,
    /// where earlier versions clustered them by workflow (<c>WITHOUT ROWID</c>): a commit of one event from each of
    /// many workflows then wrote a leaf of the table per workflow, and an index-b-tree's interior pages hold whole rows,
    /// so the tree was deep and its splits dear. The rows keep their columns, so reads, writes and an earlier build
    /// work on either layout; the copy runs once, in the start's transaction.
    /// </summary>
    private const string SetClusteredEventsAside = "ALTER TABLE events RENAME TO events_by_workflow_v3;";

    private const string CopyClusteredEvents = """
        INSERT INTO events (workflow_id, sequence, body) SELECT workflow_id, sequence, body FROM events_by_workflow_v3;
        DROP TABLE events_by_workflow_v3;
        """;

    /// <summary>
    /// Version 3 keeps the finished workflows whose terminal event is not written yet (<c>finishing</c>): a file of an
    /// earlier version gets every finished workflow whose stream is not known to have ended, once, so the next start
    /// checks them (a version 1 file knows no stream's end: all its finished workflows are checked that once).
    /// </summary>
    private static readonly string FillFinishing = $"""
        INSERT OR IGNORE INTO finishing (workflow_id)
        SELECT id FROM workflows
        WHERE status IN ('{WorkflowStatuses.Completed}', '{WorkflowStatuses.Failed}', '{WorkflowStatuses.Cancelled}')
          AND NOT EXISTS (SELECT 1 FROM streams WHERE streams.workflow_id = workflows.id AND streams.ended = 1);
        """;

    private readonly string _connectionString;
    private readonly string _pragmas;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _initGate = new(1, 1);
    private readonly SemaphoreSlim _memoryGate = new(1, 1);
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly GCHandle _self;
    private long _lockWaits;
    private SqliteConnection? _memory;
    private volatile bool _initialized;

    public SqliteDatabase(IOptions<StorageOptions> options, IHostEnvironment environment, ILogger<SqliteDatabase> logger, FelixMetrics metrics)
        : this(options.Value, environment.ContentRootPath, logger)
    {
        metrics.ObserveStorageLockWaits(() => LockWaits);
    }

    public SqliteDatabase(StorageOptions options, string contentRoot, ILogger logger)
    {
        _self = GCHandle.Alloc(this, GCHandleType.Weak);
        _logger = logger;
        IsInMemory = options.Database == StorageOptions.InMemoryDatabase;
        if (IsInMemory)
        {
            // A private name per instance: two servers in one test process never share a database.
            _connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = "felix-" + Guid.NewGuid().ToString("N"),
                Mode = SqliteOpenMode.Memory,
                Cache = SqliteCacheMode.Shared,
            }.ToString();
        }
        else
        {
            var directory = Path.GetFullPath(Path.Combine(contentRoot, options.DataDirectory));
            FilePath = Path.Combine(directory, options.Database);
            _connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = FilePath,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = true,
                DefaultTimeout = 30,
            }.ToString();
        }

        _pragmas = $"PRAGMA synchronous = {(options.Synchronous == SqliteSynchronous.Full ? "FULL" : "NORMAL")};";
    }

    public bool IsInMemory { get; }

    /// <summary>The database file, or null for an in-memory database.</summary>
    public string? FilePath { get; }

    /// <summary>
    /// Times a write of this process found the database locked by another connection and waited for it (SQLite's busy
    /// handler). This process's own writers take turns and never wait there: what counts here is another process.
    /// </summary>
    public long LockWaits => Interlocked.Read(ref _lockWaits);

    /// <summary>
    /// A connection for a unit of work that writes, once this process's other writers are done: dispose it to hand back
    /// both. Never hold two leases at once.
    /// </summary>
    public async ValueTask<Lease> OpenForWriteAsync(CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            return (await OpenAsync(cancellationToken)).Releasing(_writeGate);
        }
        catch
        {
            _writeGate.Release();
            throw;
        }
    }

    /// <summary>
    /// This process's turn to write, for a writer that keeps its own connection (the event log's thread, which waits
    /// here blocking): dispose it when the transaction has ended.
    /// </summary>
    public WriteTurn EnterWrite()
    {
        _writeGate.Wait();
        return new WriteTurn(_writeGate);
    }

    /// <summary>A connection for one unit of work that only reads; dispose it to hand it back. Never hold two at once.</summary>
    public async ValueTask<Lease> OpenAsync(CancellationToken cancellationToken = default)
    {
        if (!_initialized)
        {
            await InitializeAsync(cancellationToken);
        }

        if (IsInMemory)
        {
            await _memoryGate.WaitAsync(cancellationToken);
            return new Lease(_memory!, _memoryGate);
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await ExecuteAsync(connection, _pragmas, cancellationToken);
            WaitWhenBusy(connection);
            return new Lease(connection, null);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>What <c>PRAGMA quick_check</c> answers for a sound database.</summary>
    public const string QuickCheckPassed = "ok";

    /// <summary>
    /// Opens the database (creating or migrating its schema) and returns the first finding of <c>PRAGMA quick_check</c>,
    /// <see cref="QuickCheckPassed"/> when there is none. A file that cannot be opened throws its <see cref="SqliteException"/>.
    /// </summary>
    public async Task<string> QuickCheckAsync(CancellationToken cancellationToken = default)
    {
        await using var lease = await OpenAsync(cancellationToken);
        await using var check = lease.Command("PRAGMA quick_check(1);");
        return Convert.ToString(await check.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) ?? "";
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await _initGate.WaitAsync(cancellationToken);
        try
        {
            if (_initialized)
            {
                return;
            }

            if (FilePath is not null)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
            }

            var connection = new SqliteConnection(_connectionString);
            await connection.OpenAsync(cancellationToken);
            WaitWhenBusy(connection);
            // WAL lets readers go on while the writer commits; it is a property of the file, so set once.
            await ExecuteAsync(connection, (IsInMemory ? "" : "PRAGMA journal_mode = WAL; ") + _pragmas, cancellationToken);
            var version = await MigrateAsync(connection, cancellationToken);
            var clustered = await HasClusteredEventsAsync(connection, cancellationToken);
            if (clustered)
            {
                LogMigratingEvents(_logger, FilePath ?? StorageOptions.InMemoryDatabase);
            }

            // One transaction: a file is never left at the new version without what the version holds.
            await ExecuteAsync(connection,
                "BEGIN IMMEDIATE; " + (clustered ? SetClusteredEventsAside : "") + Schema + (clustered ? CopyClusteredEvents : "")
                + (version is > 0 and < 3 ? FillFinishing : "")
                + $"PRAGMA user_version = {SchemaVersion}; COMMIT;",
                cancellationToken);
            if (IsInMemory)
            {
                _memory = connection; // the database lives as long as this connection
            }
            else
            {
                await connection.DisposeAsync();
            }

            LogReady(_logger, FilePath ?? StorageOptions.InMemoryDatabase);
            _initialized = true;
        }
        finally
        {
            _initGate.Release();
        }
    }

    /// <summary>
    /// Brings the tables of a file written by an earlier version up to <see cref="SchemaVersion"/>; returns the version
    /// it found (0: a new file).
    /// </summary>
    private static async Task<long> MigrateAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version;";
        var version = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        if (version == 1)
        {
            // Version 2: the write rules of a stream (fencing token, ended) are kept with its position.
            await ExecuteAsync(connection, """
                ALTER TABLE streams ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE streams ADD COLUMN ended INTEGER NOT NULL DEFAULT 0;
                """, cancellationToken);
        }

        return version;
    }

    /// <summary>
    /// Whether the events are still clustered by workflow. Read from the table itself rather than the version, since an
    /// earlier build that opens the file sets its own version back.
    /// </summary>
    private static async Task<bool> HasClusteredEventsAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'events';";
        return await command.ExecuteScalarAsync(cancellationToken) is string sql
            && sql.Contains("WITHOUT ROWID", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// SQLite's <c>busy_timeout</c>, counted: when another connection holds the lock, sleep 1, 2, 5 … 100 ms between
    /// tries (SQLite's own steps) until the timeout, then give up with <c>SQLITE_BUSY</c>. The provider's API has the
    /// timeout but not the handler, so it is set through SQLite's own call, on the library the provider loaded.
    /// </summary>
    private unsafe void WaitWhenBusy(SqliteConnection connection) =>
        SetBusyHandler(connection.Handle!.DangerousGetHandle(), &OnBusy, GCHandle.ToIntPtr(_self));

    [LibraryImport("e_sqlite3", EntryPoint = "sqlite3_busy_handler")]
    private static unsafe partial int SetBusyHandler(IntPtr database, delegate* unmanaged[Cdecl]<IntPtr, int, int> handler, IntPtr state);

    // A pooled connection keeps the handler of the instance that opened it last; an instance gone since answers "do
    // not wait", and the provider's own retry takes over. The handle is weak and never freed for that reason.
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnBusy(IntPtr state, int tries) =>
        GCHandle.FromIntPtr(state).Target is SqliteDatabase database ? database.WaitForLock(tries) : 0;

    private static readonly int[] BusyDelaysMs = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

    private const int BusyTimeoutMs = 30_000;

    private int WaitForLock(int tries)
    {
        if (tries == 0)
        {
            Interlocked.Increment(ref _lockWaits);
        }

        var waited = 0;
        for (var i = 0; i < tries; i++)
        {
            waited += BusyDelaysMs[Math.Min(i, BusyDelaysMs.Length - 1)];
        }

        var delay = BusyDelaysMs[Math.Min(tries, BusyDelaysMs.Length - 1)];
        if (waited + delay > BusyTimeoutMs)
        {
            return 0;
        }

        Thread.Sleep(delay);
        return 1;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_memory is not null)
        {
            await _memory.DisposeAsync();
        }
    }

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Rewriting the event log of {Location} in append order (once, after an upgrade); the start waits for it")]
    private static partial void LogMigratingEvents(ILogger logger, string location);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "SQLite storage ready at {Location}")]
    private static partial void LogReady(ILogger logger, string location);

    /// <summary>This process's turn to write (<see cref="EnterWrite"/>); disposing it lets the next writer in.</summary>
    public sealed class WriteTurn(SemaphoreSlim gate) : IDisposable
    {
        private SemaphoreSlim? _gate = gate;

        public void Dispose() => Interlocked.Exchange(ref _gate, null)?.Release();
    }

    /// <summary>A connection in use.</summary>
    public sealed class Lease(SqliteConnection connection, SemaphoreSlim? gate) : IAsyncDisposable, IDisposable
    {
        private SemaphoreSlim? _writeGate;

        public SqliteConnection Connection { get; } = connection;

        /// <summary>Also hands back this process's turn to write when disposed (after the connection).</summary>
        internal Lease Releasing(SemaphoreSlim writeGate)
        {
            _writeGate = writeGate;
            return this;
        }

        public SqliteCommand Command(string sql)
        {
            var command = Connection.CreateCommand();
            command.CommandText = sql;
            return command;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (gate is not null)
                {
                    gate.Release();
                }
                else
                {
                    await Connection.DisposeAsync();
                }
            }
            finally
            {
                Interlocked.Exchange(ref _writeGate, null)?.Release();
            }
        }

        public void Dispose()
        {
            try
            {
                if (gate is not null)
                {
                    gate.Release();
                }
                else
                {
                    Connection.Dispose();
                }
            }
            finally
            {
                Interlocked.Exchange(ref _writeGate, null)?.Release();
            }
        }
    }
}
