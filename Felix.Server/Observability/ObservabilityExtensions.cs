using System.Diagnostics.Metrics;
using Felix.Server.AgUi;
using Felix.Server.Compat;
using Felix.Server.Hubs;
using Felix.Server.Platform;
using Felix.Server.Workflows;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Felix.Server.Security;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Felix.Server.Observability;

internal static class ObservabilityExtensions
{
    public const string LiveTag = "live";
    public const string ReadyTag = "ready";

    /// <summary>
    /// Metrics (Prometheus at <c>/metrics</c>), traces, and health checks tagged live or ready. With
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set (and its standard companions: <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>,
    /// <c>_HEADERS</c>, <c>OTEL_SERVICE_NAME</c>, <c>OTEL_METRIC_EXPORT_INTERVAL</c>, …), traces, metrics and logs are also
    /// exported over OTLP. Decided at registration, like Redis scale-out: the variable is read from the host's configuration.
    /// </summary>
    public static IServiceCollection AddFelixObservability(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<FelixMetrics>();
        services.AddOptions<ObservabilityOptions>().BindConfiguration(ObservabilityOptions.SectionName);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : "felix-server",
                serviceVersion: Platform.SystemApi.Version,
                serviceInstanceId: configuration[$"{Scaleout.ScaleoutOptions.SectionName}:NodeName"] is { Length: > 0 } node ? node : Environment.MachineName))
            .WithMetrics(metrics => metrics
                .AddMeter(FelixMetrics.MeterName, WorkflowTracing.LlmSourceName)
                .AddAspNetCoreInstrumentation()
                // GC, heap, thread pool, exceptions, lock contention (the runtime's System.Runtime meter).
                .AddRuntimeInstrumentation()
                // CPU time, memory, threads and handles of the process.
                .AddProcessInstrumentation()
                // Kestrel's memory pool counts every block rented and returned: about 1% of the CPU of a raw fan-out,
                // for a figure the GC heap metrics already cover. A dropped stream is never listened to.
                .AddView("aspnetcore.memory_pool.*", MetricStreamConfiguration.Drop)
                // Scrapes are cheap and rare; a cached answer would hide the counters moving between two close scrapes.
                .AddPrometheusExporter(options => options.ScrapeResponseCacheDurationMilliseconds = 0))
            .WithTracing(tracing => tracing
                .AddSource(WorkflowTracing.SourceName, WorkflowTracing.LlmSourceName)
                .AddAspNetCoreInstrumentation(options => options.Filter = IsTraced));
        if (!string.IsNullOrWhiteSpace(configuration[ObservabilityOptions.OtlpEndpointVariable]))
        {
            // One exporter for the three signals, configured by the OTEL_* variables; Prometheus stays for scrapers.
            telemetry.WithLogging().UseOtlpExporter();
        }

        services.AddHealthChecks()
            .AddCheck("process", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy(), [LiveTag])
            .AddCheck<EngineHealthCheck>("engine", tags: [ReadyTag])
            .AddCheck<LlmHealthCheck>("llm", tags: [ReadyTag]);
        services.AddSingleton<LlmHealthCheck>();
        services.AddSingleton<ReadinessLog>();
        services.AddSingleton<RecentReadiness>();
        services.AddHttpClient(LlmHealthCheck.HttpClientName);
        return services;
    }

    /// <summary>
    /// Requests worth a span: not scrapes, and not streaming connections (WebSocket, server-sent events), whose request
    /// lasts as long as the connection: a span hours long says nothing, and its tags stayed in memory for every open one.
    /// </summary>
    private static bool IsTraced(HttpContext context) =>
        !context.Request.Path.StartsWithSegments("/metrics") && !StreamingRequests.IsLongLived(context);

    public static WebApplication MapFelixObservability(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<FelixMetrics>();
        var queue = app.Services.GetRequiredService<WorkflowQueue>();
        var engine = app.Services.GetRequiredService<WorkflowEngine>();
        var compat = app.Services.GetRequiredService<CompatConnections>();
        var hubs = app.Services.GetRequiredService<HubConnectionCounter>();
        var agui = app.Services.GetRequiredService<AgUiConnections>();
        metrics.ObserveState(() => queue.Count, () => engine.ActiveCount, () =>
        [
            new Measurement<int>(compat.Total, new KeyValuePair<string, object?>("transport", "websocket")),
            new Measurement<int>(hubs.Count, new KeyValuePair<string, object?>("transport", "signalr")),
            new Measurement<int>(agui.Count, new KeyValuePair<string, object?>("transport", "agui")),
        ]);

        var scrape = app.MapPrometheusScrapingEndpoint("/metrics");
        // With keys configured, metrics need the admin scope unless a scraper network is trusted with them; with none
        // (development mode) everyone is the admin anyway.
        if (!app.Services.GetRequiredService<IOptions<ObservabilityOptions>>().Value.AnonymousMetrics)
        {
            scrape.RequireAuthorization(FelixClaims.AdminPolicy);
        }

        app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = HealthResponse.WriteAsync });
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag) });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = WriteReadiness(app.Services.GetRequiredService<ReadinessLog>(), app.Services.GetRequiredService<RecentReadiness>()),
        });
        return app;
    }

    private static Func<HttpContext, Microsoft.Extensions.Diagnostics.HealthChecks.HealthReport, Task> WriteReadiness(ReadinessLog log, RecentReadiness recent) =>
        (context, report) =>
        {
            recent.Store(report);
            return log.WriteAsync(context, report);
        };
}
