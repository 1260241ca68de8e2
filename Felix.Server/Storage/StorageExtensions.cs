using Felix.Server.Observability;
using Felix.Server.Platform;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Felix.Server.Storage;

internal static class StorageExtensions
{
    /// <summary>
    /// Where workflows and histories live: SQLite under the data directory by default, or process memory
    /// (<c>Felix:Storage:Provider = InMemory</c>). Replaces the in-memory registrations of <c>AddStreaming</c> and
    /// <c>AddWorkflows</c>, and adds the start-up recovery of interrupted workflows and the retention sweep.
    /// </summary>
    public static IServiceCollection AddStorage(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>()
            .BindConfiguration(StorageOptions.SectionName)
            .ValidateSettings(StorageOptions.SectionName)
            .Validate(o => o.MaxFinishedAge > TimeSpan.Zero, "Felix:Storage:MaxFinishedAge must be positive.")
            .Validate(o => o.RetentionInterval > TimeSpan.Zero, "Felix:Storage:RetentionInterval must be positive.")
            .ValidateOnStart();

        // One process per data directory: taken before recovery or anything else touches the file.
        services.AddSingleton<IStartupCheck, DataDirectoryLock>();
        services.TryAddSingleton<SqliteDatabase>();
        services.TryAddSingleton<SqliteEventLog>();
        services.TryAddSingleton<SqliteWorkflowStore>();
        services.TryAddSingleton<SqliteRetention>();
        services.TryAddSingleton<InMemoryEventLog>();
        services.TryAddSingleton<InMemoryWorkflowStore>();
        services.Replace(ServiceDescriptor.Singleton<IEventLog>(sp => IsSqlite(sp)
            ? sp.GetRequiredService<SqliteEventLog>()
            : sp.GetRequiredService<InMemoryEventLog>()));
        services.Replace(ServiceDescriptor.Singleton<IWorkflowStore>(sp => IsSqlite(sp)
            ? sp.GetRequiredService<SqliteWorkflowStore>()
            : sp.GetRequiredService<InMemoryWorkflowStore>()));

        services.AddHostedService<WorkflowRecovery>();
        services.AddHostedService<StorageRetentionService>();
        services.AddExceptionHandler<SqliteUnavailableExceptionHandler>();
        services.AddHealthChecks().AddCheck<StorageHealthCheck>("storage", tags: [ObservabilityExtensions.ReadyTag]);
        return services;
    }

    internal static bool IsSqlite(IServiceProvider services) =>
        services.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == StorageProvider.Sqlite;
}
