namespace Felix.Server.Platform;

/// <summary>
/// Refuses REST bodies over <see cref="MaxBodyBytes"/> with 413 before anything reads them. Kestrel enforces the same limit
/// on bodies without a length; this answers early and the same way on every server.
/// </summary>
internal static class RequestSizeLimit
{
    /// <summary>A 10,000-character task is at most 40 KB of UTF-8; the rest is headroom for the other fields.</summary>
    public const long MaxBodyBytes = 64 * 1024;

    public static IApplicationBuilder UseRequestSizeLimit(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Request.Path.StartsWithSegments("/api") && context.Request.ContentLength > MaxBodyBytes)
        {
            await Results.Problem(
                statusCode: StatusCodes.Status413PayloadTooLarge,
                title: "Request body too large",
                detail: $"Request bodies are limited to {MaxBodyBytes} bytes.").ExecuteAsync(context);
            return;
        }

        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }

        await next(context);
    });
}
