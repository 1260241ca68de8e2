namespace Felix.Server.Streaming;

internal static class StreamingExtensions
{
    /// <summary>The event log (in memory by default), the publisher and the system event bus.</summary>
    public static IServiceCollection AddStreaming(this IServiceCollection services)
    {
        services.AddOptions<StreamingOptions>()
            .BindConfiguration(StreamingOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IEventLog, InMemoryEventLog>();
        services.AddSingleton<EventPublisher>();
        services.AddSingleton<SystemEventBus>();
        return services;
    }
}
