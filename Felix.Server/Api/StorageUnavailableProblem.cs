using Microsoft.AspNetCore.Mvc;

namespace Felix.Server.Api;

/// <summary>
/// The answer to a request that needed storage while it could not be written or reached: 503 with <c>Retry-After</c>,
/// the same for every store, because the node recovers by itself once the store does.
/// </summary>
internal static class StorageUnavailableProblem
{
    public const string Title = "Storage unavailable";

    /// <summary>Stores usually come back within seconds (a restart, a failover, space freed).</summary>
    public const int RetryAfterSeconds = 5;

    /// <summary>What a streaming client is told where it cannot be given a 503 (a hub call, a raw socket, an AG-UI run).</summary>
    public static readonly string Message = $"{Title}: retry after {RetryAfterSeconds} seconds.";

    /// <remarks>
    /// Written as every other problem of the API is (<see cref="TypedResults.Problem(ProblemDetails)"/>): through the
    /// problem details service when it takes the request, as JSON otherwise. The service alone writes nothing for a client
    /// that accepts only <c>text/event-stream</c> (an AG-UI client), which would get a 503 without a word of why.
    /// </remarks>
    public static async ValueTask<bool> WriteAsync(HttpContext httpContext, string detail)
    {
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await TypedResults.Problem(new ProblemDetails
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            Title = Title,
            Detail = $"{detail} Retry after {RetryAfterSeconds} seconds.",
            Extensions = { ["retry_after_seconds"] = RetryAfterSeconds },
        }).ExecuteAsync(httpContext);
        return true;
    }
}
