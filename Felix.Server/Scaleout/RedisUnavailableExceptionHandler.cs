using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using StackExchange.Redis;

namespace Felix.Server.Scaleout;

/// <summary>
/// A request that needed Redis while it was unreachable answers 503 with a problem that says so (and when to retry),
/// not a 500: the node recovers by itself once Redis is back.
/// </summary>
internal sealed partial class RedisUnavailableExceptionHandler(IProblemDetailsService problems, ILogger<RedisUnavailableExceptionHandler> logger) : IExceptionHandler
{
    public const string Title = "Storage unavailable";

    /// <summary>Redis usually comes back within seconds (a restart, a failover).</summary>
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not (RedisConnectionException or RedisTimeoutException) || httpContext.Response.HasStarted)
        {
            return false;
        }

        LogUnavailable(logger, httpContext.Request.Path);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = Title,
                Detail = $"The shared store (Redis) is unreachable. Retry after {RetryAfterSeconds} seconds.",
                Extensions = { ["retry_after_seconds"] = RetryAfterSeconds },
            },
        });
    }

    [LoggerMessage(EventId = 7401, Level = LogLevel.Warning, Message = "Request {Path} answered 503: Redis is unreachable")]
    private static partial void LogUnavailable(ILogger logger, PathString path);
}
