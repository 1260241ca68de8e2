using Felix.Server.Platform;

namespace Felix.Server.Streaming;

internal static class StreamingExtensions
{
    /// <summary>
    /// The broker's core on every deployment: the publisher, the node's fan-out and the system event bus. A backend
    /// (one <c>UseX</c> on the returned builder) adds the log they stand on.
    /// </summary>
    public static IStreamingBuilder AddStreaming(this IServiceCollection services)
    {
        services.AddOptions<StreamingOptions>()
            .BindConfiguration(StreamingOptions.SectionName)
            .ValidateSettings(StreamingOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<LocalFanout>();
        services.AddSingleton<EventPublisher>();
        services.AddSingleton<SystemEventBus>();
        return new StreamingBuilder(services);
    }
}
