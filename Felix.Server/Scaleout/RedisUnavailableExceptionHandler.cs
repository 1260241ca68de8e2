using Microsoft.AspNetCore.Diagnostics;
using Felix.Server.Api;
using StackExchange.Redis;

namespace Felix.Server.Scaleout;

/// <summary>
/// A request that needed Redis while it was unreachable answers 503 with a problem that says so (and when to retry),
/// not a 500: the node recovers by itself once Redis is back.
/// </summary>
internal sealed partial class RedisUnavailableExceptionHandler(ILogger<RedisUnavailableExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not (RedisConnectionException or RedisTimeoutException) || httpContext.Response.HasStarted)
        {
            return false;
        }

        LogUnavailable(logger, httpContext.Request.Path);
        return await StorageUnavailableProblem.WriteAsync(httpContext, "The shared store (Redis) is unreachable.");
    }

    [LoggerMessage(EventId = 7401, Level = LogLevel.Warning, Message = "Request {Path} answered 503: Redis is unreachable")]
    private static partial void LogUnavailable(ILogger logger, PathString path);
}
