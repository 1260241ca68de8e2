using Felix.Server.AgUi;
using Felix.Server.Compat;
using Microsoft.AspNetCore.Http.Features;

namespace Felix.Server.Platform;

/// <summary>
/// Requests that become long-lived streams (WebSocket upgrades, server-sent events), recognised from the request alone,
/// so before the WebSockets middleware has run (<c>HttpContext.WebSockets.IsWebSocketRequest</c> is false until it has).
/// </summary>
internal static class StreamingRequests
{
    private static readonly PathString Hubs = "/hubs";
    private static readonly PathString RawStreams = CompatEndpoints.RawStreamsPrefix;
    private static readonly PathString AgUi = AgUiEndpoints.Path;

    /// <summary>An HTTP/1.1 upgrade to WebSocket or an HTTP/2 extended CONNECT for WebSocket.</summary>
    public static bool IsWebSocketUpgrade(HttpContext context) =>
        context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true, Protocol: var protocol }
            ? string.Equals(protocol, "websocket", StringComparison.OrdinalIgnoreCase)
            : context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true }
              && context.Request.Headers.Upgrade.ToString().Equals("websocket", StringComparison.OrdinalIgnoreCase);

    /// <summary>A WebSocket upgrade to one of Felix's streaming endpoints (the hubs, the raw protocol).</summary>
    public static bool IsStreamUpgrade(HttpContext context) =>
        (context.Request.Path.StartsWithSegments(Hubs) || context.Request.Path.StartsWithSegments(RawStreams))
        && IsWebSocketUpgrade(context);

    /// <summary>
    /// A request that holds a streaming connection while it runs, for the connection caps: a WebSocket, or a hub
    /// transport request that stays open (server-sent events, a long poll), an AG-UI run (its response is the stream).
    /// Only after the WebSockets middleware.
    /// </summary>
    public static bool HoldsConnection(HttpContext context) =>
        context.WebSockets.IsWebSocketRequest
        || context.Request.Path.StartsWithSegments(AgUi)
        || (context.Request.Path.StartsWithSegments(Hubs) && !context.Request.Path.Value!.EndsWith("/negotiate", StringComparison.Ordinal)
            && context.Request.Method == HttpMethods.Get);

    /// <summary>
    /// A new streaming connection, for the attempts-per-minute limit: a hub negotiation, a WebSocket or server-sent events
    /// connect, any request to the raw endpoints; not a long poll's polls, nor the messages SSE and long-polling clients
    /// post, of which a busy connection sends many a minute. Only after the WebSockets middleware.
    /// </summary>
    public static bool IsConnectionAttempt(HttpContext context) =>
        !context.Request.Path.StartsWithSegments(Hubs)
        || context.Request.Path.Value!.EndsWith("/negotiate", StringComparison.Ordinal)
        || context.WebSockets.IsWebSocketRequest
        || IsEventStream(context);

    private static bool IsEventStream(HttpContext context) =>
        context.Request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase);

    /// <summary>A WebSocket upgrade or a request for server-sent events: its request lasts as long as the stream.</summary>
    public static bool IsLongLived(HttpContext context) =>
        IsWebSocketUpgrade(context) || IsEventStream(context);
}
