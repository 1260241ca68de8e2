namespace Felix.Server.Security;

/// <summary>
/// An open server (no key, no token issuer) answers only requests addressed to a loopback name: <c>localhost</c>,
/// <c>127.0.0.1</c> or <c>[::1]</c>, on any port. Otherwise any web page could use it through DNS rebinding: a page
/// on evil.example points its name at 127.0.0.1, and the browser then sends it the developer's server's answers as
/// same-origin ones, REST and WebSockets alike, with <c>Host: evil.example</c>. Setting <c>AllowedHosts</c> (ASP.NET
/// Core's host filtering) replaces this list; with credentials configured a request needs a key anyway, and every
/// name is answered as before.
/// </summary>
internal static class OpenServerHosts
{
    /// <summary>ASP.NET Core's host filtering setting: names separated by ';', '*' for any.</summary>
    public const string AllowedHostsKey = "AllowedHosts";

    public const string Title = "Host not allowed";

    public const string Detail =
        "This server has no API key, so it answers only requests to localhost, 127.0.0.1 or [::1]: another name could " +
        "be a web page reaching it through DNS rebinding. To serve other names, list them in AllowedHosts " +
        "(AllowedHosts=felix.internal;localhost), or configure an API key.";

    /// <summary>Before everything else, the dashboard's files and the WebSocket upgrades included.</summary>
    public static WebApplication UseOpenServerHosts(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<ApiKeyRing>().IsOpen || !string.IsNullOrWhiteSpace(app.Configuration[AllowedHostsKey]))
        {
            return app;
        }

        // Not async: the request of a hub or raw connection lasts as long as the connection.
        app.Use((context, next) => IsLoopback(context.Request.Host)
            ? next(context)
            : TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: Title, detail: Detail).ExecuteAsync(context));
        return app;
    }

    /// <summary>
    /// A loopback name, or none: a request without a Host (HTTP/1.0) is not a browser's, and ASP.NET Core's filtering
    /// lets it through too.
    /// </summary>
    internal static bool IsLoopback(HostString host) =>
        !host.HasValue
        || host.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || host.Host.Equals("127.0.0.1", StringComparison.Ordinal)
        || host.Host.Equals("[::1]", StringComparison.Ordinal);
}
