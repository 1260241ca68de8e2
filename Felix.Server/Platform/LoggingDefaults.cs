using Microsoft.Extensions.Configuration.Memory;

namespace Felix.Server.Platform;

internal static class LoggingDefaults
{
    /// <summary>
    /// Levels for categories that are noisy at Information, as the lowest-priority configuration source: appsettings.json,
    /// environment variables and the command line can still lower any of them again (<c>Logging:LogLevel:Polly=Debug</c>).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> Levels = new Dictionary<string, string?>
    {
        // Several lines per request (routing, endpoint, result, CORS) and the data protection key store at start. Here
        // as well as in appsettings.json, so a server whose content root has none (--contentRoot elsewhere, a
        // publish without it) is as quiet as one that has it.
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        // Four lines per model call (start, send, headers, end) from the HTTP client factory.
        ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Warning",
        // A line per attempt from the resilience pipeline; the failed call itself is logged once by the workflow runner.
        ["Logging:LogLevel:Polly"] = "Warning",
        // "Failed to invoke hub method" as an error with a stack, for every bad argument a client sends: Hubs/HubErrorFilter
        // logs hub method failures instead (client mistakes without a stack, server faults with one).
        ["Logging:LogLevel:Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher"] = "Critical",
        // A line per check and probe, every few seconds: a Warning for a Degraded entry (the model endpoint down), an
        // Error for an Unhealthy one (Redis down, a full disk), which is expected operations. /health reports each entry,
        // and Observability/ReadinessLog logs readiness once when it turns Unhealthy and once when it recovers.
        ["Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService"] = "Critical",
        // Every refused token at Information, one of its lines with the token validator's whole stack: a client's mistake.
        // Security/SecurityExtensions logs it once instead, at Debug, with the reason and no stack.
        ["Logging:LogLevel:Microsoft.AspNetCore.Authentication.JwtBearer.JwtBearerHandler"] = "Warning",
        // Two lines per refused API key ("not authenticated", "challenged") and one per request without a key, from the
        // authentication handler base class: a client's mistake, answered with 401 or 1008, as a refused token is.
        ["Logging:LogLevel:Felix.Server.Security.ApiKeyAuthenticationHandler"] = "Warning",
    };

    public static WebApplicationBuilder AddLoggingDefaults(this WebApplicationBuilder builder)
    {
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Levels });
        return builder;
    }
}
