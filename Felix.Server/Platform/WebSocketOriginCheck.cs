using Microsoft.AspNetCore.Mvc;

namespace Felix.Server.Platform;

/// <summary>
/// Browsers do not apply CORS to WebSockets, so a page from any site could open a socket with a user's ambient
/// credentials. WebSocket upgrades (raw endpoints and hubs) that carry an <c>Origin</c> must therefore come from the
/// server's own origin or one of the CORS origins; clients that send no <c>Origin</c> (not browsers) are unaffected.
/// </summary>
internal static class WebSocketOriginCheck
{
    // Not async for the same reason as RequestSizeLimit: an upgraded request lives as long as its connection.
    public static IApplicationBuilder UseWebSocketOriginCheck(this IApplicationBuilder app) => app.Use((context, next) =>
        context.WebSockets.IsWebSocketRequest
            && context.Request.Headers.Origin.ToString() is { Length: > 0 } origin
            && !IsAllowed(context, origin)
                ? RefuseAsync(context, origin)
                : next(context));

    private static Task RefuseAsync(HttpContext context, string origin)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status403Forbidden,
                Title = "Origin not allowed",
                Detail = $"WebSocket connections from '{origin}' are not allowed. Add it to {CorsSetup.OriginsVariable} or Felix:Cors:Origins.",
            },
        }).AsTask();
    }

    private static bool IsAllowed(HttpContext context, string origin)
    {
        var allowed = CorsSetup.Origins(context.RequestServices.GetRequiredService<IConfiguration>());
        if (allowed.Contains("*") || allowed.Contains(origin, StringComparer.OrdinalIgnoreCase))
        {
            return true;
        }

        return Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && string.Equals(uri.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }
}
