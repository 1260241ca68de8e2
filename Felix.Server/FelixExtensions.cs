using Felix.Contracts.Serialization;
using Felix.Server.AgUi;
using Felix.Server.Agents;
using Felix.Server.Api;
using Felix.Server.Approvals;
using Felix.Server.Api.OpenApi;
using Felix.Server.Compat;
using Felix.Server.Hubs;
using Felix.Server.Observability;
using Felix.Server.Platform;
using Felix.Server.Scaleout;
using Felix.Server.Security;
using Felix.Server.Storage;
using Felix.Server.Streaming;
using Felix.Server.Workflows;

namespace Felix.Server;

internal static class FelixExtensions
{
    /// <summary>Everything Felix Server is made of, with embedded defaults: no Redis, no LLM.</summary>
    public static WebApplicationBuilder AddFelix(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        // Request-start lines carry the whole URL, and browsers put keys in the query (api_key, access_token): keep those
        // lines out of the logs whatever the configured level.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.AddLoggingDefaults();
        // Console for people, EventSource for dotnet-trace and dotnet-monitor. Not the Debug provider: it writes only to an
        // attached debugger, and each provider costs every log scope of every open connection's request another object.
        // One line per entry with a UTC timestamp, so a log can be grepped and lined up with other nodes' logs.
        builder.Logging.ClearProviders().AddEventSourceLogger().AddSimpleConsole(FelixStartupExtensions.ConfigureConsole);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ServerClock>();
        services.AddStartupChecks();
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            RequestSizeLimit.DescribeTooLarge(context);
            BadRequestExceptionHandler.DescribeUnsupportedMediaType(context);
        });
        services.AddSingleton<IProblemDetailsWriter, EventStreamProblemDetailsWriter>();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.ConfigureHttpJsonOptions(options => FelixSerialization.ConfigureSnakeCase(options.SerializerOptions, omitNulls: false));
        services.AddFelixOpenApi();
        services.AddFelixObservability(builder.Configuration);
        services.AddFelixCors();
        services.AddFelixSecurity();
        services.AddFelixRateLimits();
        services.AddStreaming().UseConfiguredBackend(builder.Configuration);
        services.AddWorkflows();
        services.AddApprovals();
        services.AddAgents();
        services.AddFelixHubs();
        services.AddCompat();
        services.AddAgUi();
        return builder;
    }

    /// <summary>
    /// The one place the backend is chosen: Redis scale-out when <c>Felix:Redis:Configuration</c> is set, otherwise
    /// <c>Felix:Storage:Provider</c> (SQLite unless it says InMemory; a bad value is reported by the settings check).
    /// </summary>
    private static IStreamingBuilder UseConfiguredBackend(this IStreamingBuilder streaming, IConfiguration configuration)
    {
        var redis = configuration[$"{ScaleoutOptions.SectionName}:{nameof(ScaleoutOptions.Configuration)}"];
        if (!string.IsNullOrWhiteSpace(redis))
        {
            return streaming.UseRedis(redis);
        }

        var provider = configuration[$"{StorageOptions.SectionName}:{nameof(StorageOptions.Provider)}"];
        return string.Equals(provider, nameof(StorageProvider.InMemory), StringComparison.OrdinalIgnoreCase)
            ? streaming.UseInMemory()
            : streaming.UseSqlite();
    }

    public static WebApplication MapFelix(this WebApplication app)
    {
        app.UseOpenServerHosts();
        // Problem details for errors, except on WebSocket upgrades to the streaming endpoints: their request lasts as long
        // as the connection, and these two middlewares would each keep a waiting state machine per open connection for
        // all that time. Refusals there (authentication, limits, origin) write their own problem details; an unexpected
        // failure before the upgrade gets a bare 500, which is all a WebSocket client can see anyway.
        app.UseWhen(context => !StreamingRequests.IsStreamUpgrade(context), errors => errors.UseExceptionHandler().UseStatusCodePages());
        app.UseDashboard();
        app.UseRequestSizeLimit();
        app.UseCors(CorsSetup.PolicyName);
        app.UseWebSockets();
        app.UseHubShutdown();
        app.UseWebSocketOriginCheck();
        app.UseAuthenticationAndAuthorization();
        app.UseStreamingAdmission();

        app.MapWorkflowsApi();
        app.MapApprovals();
        app.MapSystemApi();
        app.MapAgentsApi();
        app.MapFelixHubs();
        app.MapCompatWebSockets();
        app.MapAgUi();
        app.MapFelixOpenApi();
        app.MapFelixObservability();
        return app;
    }
}
