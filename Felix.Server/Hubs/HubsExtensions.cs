using Felix.Contracts;
using Felix.Contracts.Serialization;
using Felix.Server.Platform;
using Felix.Server.Streaming;
using Felix.Server.Observability;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Felix.Server.Hubs;

internal static class HubsExtensions
{
    /// <summary>
    /// Clients ping every 15 s by default; the server waits two of their intervals before it gives up on one, and pings
    /// at half of the client's default 30 s timeout so an idle connection never looks dead.
    /// </summary>
    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan ClientTimeoutInterval = TimeSpan.FromSeconds(30);

    /// <summary>Hub invocations are small (ids, a sequence, a few type names).</summary>
    public const long MaximumReceiveMessageSize = 32 * 1024;

    /// <summary>
    /// Unacknowledged bytes kept per connection for stateful reconnect: a few seconds of a busy run's token deltas, so a
    /// short network drop loses nothing. Past it the server waits for acks; a client gone for longer resumes by sequence.
    /// </summary>
    public const long StatefulReconnectBufferSize = 1024 * 1024;

    public static IServiceCollection AddFelixHubs(this IServiceCollection services)
    {
        services.AddSignalR(options =>
            {
                options.KeepAliveInterval = KeepAliveInterval;
                options.ClientTimeoutInterval = ClientTimeoutInterval;
                options.MaximumReceiveMessageSize = MaximumReceiveMessageSize;
                options.StatefulReconnectBufferSize = StatefulReconnectBufferSize;
                options.AddFilter<HubErrorFilter>();
                options.AddFilter<HubShutdown>();
                options.AddFilter<StatefulReconnectPipeRelease>();
            })
            .AddJsonProtocol(options => options.PayloadSerializerOptions.AddFelixConverters())
            .AddMessagePackProtocol(options => options.SerializerOptions = options.SerializerOptions.WithFelixResolver());
        services.AddSingleton<HubErrorFilter>();
        services.AddSingleton<HubShutdown>();
        services.AddSingleton<StatefulReconnectPipeRelease>();
        services.AddSingleton<HubConnectionCounter>();
        // One deadline for both sinks' sends: one token source per window for the whole process.
        services.AddSingleton(provider => new SharedDeadline(
            provider.GetRequiredService<IOptions<StreamingOptions>>().Value.SlowConsumerTimeout, provider.GetRequiredService<TimeProvider>()));
        // Groups are node-local on every deployment: each node hands its own members the events its fan-out delivers,
        // whichever node published them, so no backplane is on an event's path.
        services.AddSingleton<GroupMembership<WorkflowHub>>();
        services.AddSingleton<HubLifetimeManager<WorkflowHub>>(provider => provider.GetRequiredService<GroupMembership<WorkflowHub>>());
        services.AddSingleton<GroupSendCoalescer>();
        services.AddSingleton<IEventSink, HubEventSink>();
        services.AddSingleton<ISystemEventSink, SystemHubSink>();
        return services;
    }

    public static IEndpointRouteBuilder MapFelixHubs(this IEndpointRouteBuilder app)
    {
        // A connection opened with a JWT closes when the token expires; the client reconnects with a fresh one.
        app.MapHub<WorkflowHub>(HubPaths.Workflows, options => (options.AllowStatefulReconnects, options.CloseOnAuthenticationExpiration) = (true, true))
            .RequireStreamingAdmission();
        app.MapHub<SystemHub>(HubPaths.System, options => (options.AllowStatefulReconnects, options.CloseOnAuthenticationExpiration) = (true, true))
            .RequireStreamingAdmission();
        // After MapHub, which created SignalR's connection manager and its ApplicationStopping callback: ours runs first.
        var shutdown = app.ServiceProvider.GetRequiredService<HubShutdown>();
        app.ServiceProvider.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(shutdown.CloseAll);
        return app;
    }

    /// <summary>Lets <see cref="HubShutdown"/> know when the hub requests have ended.</summary>
    public static IApplicationBuilder UseHubShutdown(this IApplicationBuilder app)
    {
        var shutdown = app.ApplicationServices.GetRequiredService<HubShutdown>();
        return app.UseWhen(HubShutdown.IsHubRequest, hubs => hubs.Use(shutdown.TrackAsync));
    }
}
