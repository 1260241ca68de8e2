using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Felix.Server.Observability;

/// <summary>
/// Logs readiness when it changes, not per probe: one Warning when <c>/health/ready</c> turns Unhealthy (naming the
/// entries that are), one Information when it is ready again. An outage (Redis down, a full disk) is expected
/// operations that the node rides out by itself; the framework's health-check logger, which would log an Error for
/// every probe while it lasts, is kept quiet (<c>Platform/LoggingDefaults</c>).
/// </summary>
internal sealed partial class ReadinessLog(ILogger<ReadinessLog> logger)
{
    // 1 while the last report seen was Unhealthy. A node starts ready as far as the log is concerned, so a healthy first
    // probe logs nothing and an unhealthy one logs the Warning.
    private int _unhealthy;

    /// <summary>The response writer of <c>/health/ready</c>: notes the report, then answers as <c>/health</c> does.</summary>
    public Task WriteAsync(HttpContext context, HealthReport report)
    {
        Observe(report);
        return HealthResponse.WriteAsync(context, report);
    }

    public void Observe(HealthReport report)
    {
        var unhealthy = report.Status == HealthStatus.Unhealthy ? 1 : 0;
        if (Interlocked.Exchange(ref _unhealthy, unhealthy) == unhealthy)
        {
            return;
        }

        if (unhealthy == 1)
        {
            LogNotReady(logger, Describe(report));
        }
        else
        {
            LogReadyAgain(logger, report.Status);
        }
    }

    private static string Describe(HealthReport report) => string.Join("; ", report.Entries
        .Where(e => e.Value.Status == HealthStatus.Unhealthy)
        .Select(e => e.Value.Exception is { } ex
            ? $"{e.Key}: {e.Value.Description} ({ex.GetType().Name}: {ex.Message})"
            : $"{e.Key}: {e.Value.Description}"));

    [LoggerMessage(EventId = 9201, Level = LogLevel.Warning, Message = "Not ready ({Unhealthy}); readiness probes answer 503 until it recovers")]
    private static partial void LogNotReady(ILogger logger, string unhealthy);

    [LoggerMessage(EventId = 9202, Level = LogLevel.Information, Message = "Ready again ({Status})")]
    private static partial void LogReadyAgain(ILogger logger, HealthStatus status);
}
