using System.Diagnostics.Metrics;
using Felix.Server.Compat;
using Felix.Server.Hubs;
using Felix.Server.Platform;
using Felix.Server.Workflows;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Felix.Server.Observability;

internal static class ObservabilityExtensions
{
    public const string LiveTag = "live";
    public const string ReadyTag = "ready";

    /// <summary>Metrics (Prometheus at <c>/metrics</c>), traces, and health checks tagged live or ready.</summary>
    public static IServiceCollection AddFelixObservability(this IServiceCollection services)
    {
        services.AddSingleton<FelixMetrics>();
        services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddMeter(FelixMetrics.MeterName, "Felix.Llm")
                .AddAspNetCoreInstrumentation()
                // Kestrel's memory pool counts every block rented and returned: about 1% of the CPU of a raw fan-out,
                // for a figure the GC heap metrics already cover. A dropped stream is never listened to.
                .AddView("aspnetcore.memory_pool.*", MetricStreamConfiguration.Drop)
                // Scrapes are cheap and rare; a cached answer would hide the counters moving between two close scrapes.
                .AddPrometheusExporter(options => options.ScrapeResponseCacheDurationMilliseconds = 0))
            .WithTracing(tracing => tracing
                .AddSource("Felix.Llm")
                .AddAspNetCoreInstrumentation(options => options.Filter = IsTraced));
        services.AddHealthChecks()
            .AddCheck("process", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy(), [LiveTag])
            .AddCheck<EngineHealthCheck>("engine", tags: [ReadyTag])
            .AddCheck<LlmHealthCheck>("llm", tags: [ReadyTag]);
        services.AddSingleton<LlmHealthCheck>();
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
        metrics.ObserveState(() => queue.Count, () => engine.ActiveCount, () =>
        [
            new Measurement<int>(compat.Total, new KeyValuePair<string, object?>("transport", "websocket")),
            new Measurement<int>(hubs.Count, new KeyValuePair<string, object?>("transport", "signalr")),
        ]);

        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = HealthResponse.WriteAsync });
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag) });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = HealthResponse.WriteAsync,
        });
        return app;
    }
}
