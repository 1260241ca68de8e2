using Felix.Server.Observability;
using Felix.Server.Platform;
using Felix.Server.Storage;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Felix.Server.Scaleout;

internal static class ScaleoutExtensions
{
    /// <summary>
    /// Several nodes behind one Redis, when <c>Felix:Redis:Configuration</c> is set; otherwise nothing changes. Call after
    /// <c>AddStreaming</c>, <c>AddWorkflows</c>, <c>AddStorage</c> and <c>AddFelixHubs</c>: it replaces their single-node
    /// registrations.
    /// </summary>
    public static IServiceCollection AddRedisScaleout(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = configuration.GetSection(ScaleoutOptions.SectionName).Get<ScaleoutOptions>();
        return settings is { Enabled: true } ? services.AddRedisScaleout(settings.Configuration!) : services;
    }

    /// <summary>Every scale-out registration: shared store, broker log and node feed, queue, leases, health.</summary>
    public static IServiceCollection AddRedisScaleout(this IServiceCollection services, string redisConfiguration)
    {
        services.AddOptions<ScaleoutOptions>()
            .BindConfiguration(ScaleoutOptions.SectionName)
            .Configure(o => o.Configuration = redisConfiguration)
            .ValidateSettings(ScaleoutOptions.SectionName)
            .Validate(o => o.NodeLease >= TimeSpan.FromSeconds(1), "Felix:Redis:NodeLease must be at least one second.")
            .Validate(o => o.QueuePollInterval > TimeSpan.Zero, "Felix:Redis:QueuePollInterval must be positive.")
            .ValidateOnStart();

        services.TryAddSingleton<RedisConnection>();
        services.TryAddSingleton<ScaleoutSignals>();
        services.TryAddSingleton<RedisEventLog>();
        services.TryAddSingleton(sp => new RedisWorkflowStore(
            sp.GetRequiredService<RedisConnection>(), sp.GetRequiredService<IOptions<StorageOptions>>().Value.MaxFinishedAge));
        services.TryAddSingleton<RedisWorkflowDispatcher>();
        services.Replace(ServiceDescriptor.Singleton<IEventLog>(sp => sp.GetRequiredService<RedisEventLog>()));
        services.Replace(ServiceDescriptor.Singleton<IWorkflowStore>(sp => sp.GetRequiredService<RedisWorkflowStore>()));
        services.Replace(ServiceDescriptor.Singleton<IWorkflowDispatcher>(sp => sp.GetRequiredService<RedisWorkflowDispatcher>()));
        services.AddSingleton<ISystemEventForwarder, RedisSystemEventForwarder>();

        // A starting node must not fail the workflows other nodes are running: dead nodes are found by their leases.
        // Histories are capped per workflow by the stream length; there is no local database to sweep.
        foreach (var single in services.Where(d => d.ServiceType == typeof(IHostedService)
            && (d.ImplementationType == typeof(WorkflowRecovery) || d.ImplementationType == typeof(StorageRetentionService))).ToList())
        {
            services.Remove(single);
        }

        // Nodes keep nothing in a local data directory, so several may start from one folder.
        foreach (var check in services.Where(d => d.ServiceType == typeof(IStartupCheck) && d.ImplementationType == typeof(DataDirectoryLock)).ToList())
        {
            services.Remove(check);
        }

        services.AddHostedService(sp => sp.GetRequiredService<RedisWorkflowDispatcher>());
        services.AddHostedService<RedisNodeFeed>();
        services.AddHostedService<NodeLeaseService>();

        services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: [ObservabilityExtensions.ReadyTag]);
        services.AddExceptionHandler<RedisUnavailableExceptionHandler>();

        return services;
    }
}
