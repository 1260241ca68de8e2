using Microsoft.AspNetCore.Http.Features;

namespace Felix.Server.Platform;

/// <summary>
/// Requests that become long-lived streams (WebSocket upgrades, server-sent events), recognised from the request alone,
/// so before the WebSockets middleware has run (<c>HttpContext.WebSockets.IsWebSocketRequest</c> is false until it has).
/// </summary>
internal static class StreamingRequests
{
    /// <summary>An HTTP/1.1 upgrade to WebSocket or an HTTP/2 extended CONNECT.</summary>
    public static bool IsWebSocketUpgrade(HttpContext context) =>
        context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true }
        || (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true }
            && context.Request.Headers.Upgrade.ToString().Equals("websocket", StringComparison.OrdinalIgnoreCase));

    /// <summary>A WebSocket upgrade or a request for server-sent events: its request lasts as long as the stream.</summary>
    public static bool IsLongLived(HttpContext context) =>
        IsWebSocketUpgrade(context)
        || context.Request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase);
}
