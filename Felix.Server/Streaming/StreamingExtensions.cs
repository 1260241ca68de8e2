using Felix.Server.Platform;
namespace Felix.Server.Streaming;

internal static class StreamingExtensions
{
    /// <summary>The event log (in memory by default), the publisher and the system event bus.</summary>
    public static IServiceCollection AddStreaming(this IServiceCollection services)
    {
        services.AddOptions<StreamingOptions>()
            .BindConfiguration(StreamingOptions.SectionName)
            .ValidateSettings(StreamingOptions.SectionName)
            .Validate(o => o.SlowConsumerTimeout > TimeSpan.Zero || o.SlowConsumerTimeout == Timeout.InfiniteTimeSpan,
                "Felix:Streaming:SlowConsumerTimeout must be positive, or -00:00:00.001 for none.")
            .ValidateOnStart();
        services.AddSingleton<IEventLog, InMemoryEventLog>();
        services.AddSingleton<LocalFanout>();
        services.AddSingleton<EventPublisher>();
        services.AddSingleton<SystemEventBus>();
        return services;
    }
}
