using Felix.Server.Observability;
using Felix.Server.Platform;
using Felix.Server.Storage;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Microsoft.Extensions.Options;

namespace Felix.Server.Scaleout;

internal static class ScaleoutExtensions
{
    /// <summary>
    /// Several nodes behind one Redis (<c>Felix:Redis:Configuration</c>): the broker's log appends and publishes to every
    /// node in one script and each node's feed hands other nodes' events to its fan-out; workflows, the work queue and
    /// node leases are shared. Dead nodes are found by their leases, so there is no start-up recovery and no local data
    /// directory (several nodes may start from one folder); histories are capped per workflow by the stream length.
    /// </summary>
    public static IStreamingBuilder UseRedis(this IStreamingBuilder streaming, string redisConfiguration)
    {
        var services = streaming.Services;
        services.AddStorageOptions();
        services.AddOptions<ScaleoutOptions>()
            .BindConfiguration(ScaleoutOptions.SectionName)
            .Configure(o => o.Configuration = redisConfiguration)
            .ValidateSettings(ScaleoutOptions.SectionName)
            .ValidateOnStart();

        services.AddSingleton<RedisConnection>();
        services.AddSingleton<ScaleoutSignals>();
        services.AddSingleton<UnqueuedWorkflows>();
        services.AddSingleton<RedisEventLog>();
        services.AddSingleton(sp => new RedisWorkflowStore(
            sp.GetRequiredService<RedisConnection>(), sp.GetRequiredService<IOptions<StorageOptions>>().Value.MaxFinishedAge));
        services.AddSingleton<RedisWorkflowDispatcher>();
        services.AddSingleton<IEventLog>(sp => sp.GetRequiredService<RedisEventLog>());
        services.AddSingleton<IWorkflowStore>(sp => sp.GetRequiredService<RedisWorkflowStore>());
        services.AddSingleton<IWorkflowDispatcher>(sp => sp.GetRequiredService<RedisWorkflowDispatcher>());
        services.AddSingleton<ISystemEventForwarder, RedisSystemEventForwarder>();

        services.AddHostedService(sp => sp.GetRequiredService<RedisWorkflowDispatcher>());
        services.AddHostedService<RedisNodeFeed>();
        services.AddHostedService<NodeLeaseService>();

        services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: [ObservabilityExtensions.ReadyTag]);
        services.AddExceptionHandler<RedisUnavailableExceptionHandler>();
        return streaming;
    }
}
