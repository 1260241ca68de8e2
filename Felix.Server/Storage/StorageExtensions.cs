using Felix.Server.Observability;
using Felix.Server.Platform;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Microsoft.Extensions.Options;

namespace Felix.Server.Storage;

internal static class StorageExtensions
{
    /// <summary>
    /// One node on its embedded SQLite database under the data directory (the default): the broker's log and the
    /// workflow store in one file, the data directory lock, the start-up recovery of interrupted workflows and the
    /// retention sweep.
    /// </summary>
    public static IStreamingBuilder UseSqlite(this IStreamingBuilder streaming)
    {
        var services = streaming.Services;
        services.AddStorageOptions();
        // One process per data directory: taken before recovery or anything else touches the file.
        services.AddSingleton<IStartupCheck, DataDirectoryLock>();
        services.AddSingleton<SqliteDatabase>();
        // After the lock, before recovery: the first open of the file names it when it is not a usable database.
        services.AddSingleton<IStartupCheck, SqliteDatabaseCheck>();
        services.AddSingleton<SqliteEventLog>();
        services.AddSingleton<SqliteWorkflowStore>();
        services.AddSingleton<SqliteRetention>();
        services.AddSingleton<IEventLog>(sp => sp.GetRequiredService<SqliteEventLog>());
        services.AddSingleton<IWorkflowStore>(sp => sp.GetRequiredService<SqliteWorkflowStore>());
        services.AddSingleton<IFinishingWorkflows>(sp => sp.GetRequiredService<SqliteWorkflowStore>());
        services.AddHostedService<StorageRetentionService>();
        return streaming.AddSingleNode();
    }

    /// <summary>
    /// One node, everything in process memory (<c>Felix:Storage:Provider = InMemory</c>): histories and workflows go
    /// with the process.
    /// </summary>
    public static IStreamingBuilder UseInMemory(this IStreamingBuilder streaming)
    {
        var services = streaming.Services;
        services.AddStorageOptions();
        services.AddSingleton<InMemoryEventLog>();
        services.AddSingleton<InMemoryWorkflowStore>();
        services.AddSingleton<IEventLog>(sp => sp.GetRequiredService<InMemoryEventLog>());
        services.AddSingleton<IWorkflowStore>(sp => sp.GetRequiredService<InMemoryWorkflowStore>());
        services.AddSingleton<IFinishingWorkflows>(sp => sp.GetRequiredService<InMemoryWorkflowStore>());
        return streaming.AddSingleNode();
    }

    /// <summary>
    /// What both single-node backends share: this node's engine takes all work, puts the workflows it left unfinished
    /// back on its queue when it starts, and reports storage faults (503) and storage health.
    /// </summary>
    private static IStreamingBuilder AddSingleNode(this IStreamingBuilder streaming)
    {
        var services = streaming.Services;
        services.AddSingleton<IWorkflowDispatcher, LocalWorkflowDispatcher>();
        services.AddHostedService<WorkflowRecovery>();
        services.AddExceptionHandler<SqliteUnavailableExceptionHandler>();
        // One instance, so its count of probe writes covers every evaluation.
        services.AddSingleton<StorageHealthCheck>();
        services.AddHealthChecks().AddCheck<StorageHealthCheck>("storage", tags: [ObservabilityExtensions.ReadyTag]);
        return streaming;
    }

    /// <summary><c>Felix:Storage</c>, read by every backend (retention ages, the provider named in the start-up log).</summary>
    public static IServiceCollection AddStorageOptions(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>()
            .BindConfiguration(StorageOptions.SectionName)
            .ValidateSettings(StorageOptions.SectionName)
            .ValidateOnStart();
        return services;
    }

    internal static bool IsSqlite(IServiceProvider services) =>
        services.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == StorageProvider.Sqlite;
}
