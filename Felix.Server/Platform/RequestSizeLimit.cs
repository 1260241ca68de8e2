namespace Felix.Server.Platform;

/// <summary>
/// Refuses REST bodies over <see cref="MaxBodyBytes"/> with 413 before anything reads them. Kestrel enforces the same limit
/// on bodies without a length; this answers early and the same way on every server.
/// </summary>
internal static class RequestSizeLimit
{
    /// <summary>
    /// A 10,000-character task is at most 120,000 bytes of JSON: a client that escapes what is not ASCII (Python's
    /// <c>json.dumps</c> by default, .NET's serializer) writes an emoji as two <c>\uXXXX</c> escapes, 12 bytes. The rest is
    /// headroom for the other fields.
    /// </summary>
    public const long MaxBodyBytes = 128 * 1024;

    // Not async: the request of a hub or raw connection lasts as long as the connection, and an awaiting middleware keeps
    // its state machine alive for all that time (about 110 bytes per open connection, for nothing).
    public static IApplicationBuilder UseRequestSizeLimit(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var max = LimitFor(context.Request.Path);
        if (context.Request.Path.StartsWithSegments("/api") && context.Request.ContentLength > max)
        {
            return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: TooLargeTitle, detail: TooLargeDetail(max)).ExecuteAsync(context);
        }

        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = max;
        }

        return next(context);
    });

    public const string TooLargeTitle = "Request body too large";

    public static string TooLargeDetail(long max) => $"Request bodies are limited to {max} bytes.";

    /// <summary>
    /// Gives every 413 the same title and detail, however the limit was hit: a body without a length runs over while the
    /// endpoint reads it, and the framework answers that with a bare 413 that the problem details service fills in.
    /// </summary>
    public static void DescribeTooLarge(ProblemDetailsContext context)
    {
        if (context.ProblemDetails.Status == StatusCodes.Status413PayloadTooLarge)
        {
            context.ProblemDetails.Title = TooLargeTitle;
            context.ProblemDetails.Detail = TooLargeDetail(LimitFor(context.HttpContext.Request.Path));
        }
    }

    public static long LimitFor(PathString path) =>
        path.StartsWithSegments(AgUi.AgUiEndpoints.Path) ? AgUi.AgUiEndpoints.MaxBodyBytes : MaxBodyBytes;
}
