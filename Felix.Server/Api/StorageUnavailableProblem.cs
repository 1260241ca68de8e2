using Felix.Server.Workflows;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Felix.Server.Api;

/// <summary>
/// The answer to a request that needed storage while it could not be written or reached: 503 with <c>Retry-After</c>,
/// the same for every store, because the node recovers by itself once the store does. The seconds are
/// <see cref="WorkflowOptions.RetryAfterSeconds"/>, as for the node's other 503s (busy, shutting down), so one setting
/// paces every client that is told to come back: REST, the hubs, the raw socket and AG-UI.
/// </summary>
internal static class StorageUnavailableProblem
{
    public const string Title = "Storage unavailable";

    /// <summary>What a streaming client is told where it cannot be given a 503 (a hub call, a raw socket, an AG-UI run).</summary>
    public static string Message(int retryAfterSeconds) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Title}: retry after {retryAfterSeconds} seconds.");

    /// <summary><see cref="Message(int)"/> with the configured seconds.</summary>
    public static string Message(IOptions<WorkflowOptions> options) => Message(options.Value.RetryAfterSeconds);

    /// <remarks>
    /// Written as every other problem of the API is (<see cref="TypedResults.Problem(ProblemDetails)"/>): through the
    /// problem details service when it takes the request, as JSON otherwise. The service alone writes nothing for a client
    /// that accepts only <c>text/event-stream</c> (an AG-UI client), which would get a 503 without a word of why.
    /// </remarks>
    public static async ValueTask<bool> WriteAsync(HttpContext httpContext, string detail)
    {
        var seconds = httpContext.RequestServices.GetRequiredService<IOptions<WorkflowOptions>>().Value.RetryAfterSeconds;
        httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await TypedResults.Problem(new ProblemDetails
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            Title = Title,
            Detail = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{detail} Retry after {seconds} seconds."),
            Extensions = { ["retry_after_seconds"] = seconds },
        }).ExecuteAsync(httpContext);
        return true;
    }
}
