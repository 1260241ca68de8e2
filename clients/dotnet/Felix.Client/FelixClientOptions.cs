using System.Net.WebSockets;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Connections.Client;

namespace Felix.Client;

/// <summary>Where a <see cref="FelixClient"/> connects and how it behaves when the connection drops.</summary>
public sealed class FelixClientOptions
{
    /// <summary>The server's default listen address.</summary>
    public const string DefaultBaseAddress = "http://localhost:8000/";

    /// <summary>
    /// The waits before each reconnect attempt: immediately, then backing off to 30 s. Five attempts span about 47 s, longer
    /// than a server restart, before a watch gives up and throws.
    /// </summary>
    public static readonly IReadOnlyList<TimeSpan> DefaultReconnectDelays =
        [TimeSpan.Zero, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30)];

    /// <summary>The server's base address, e.g. <c>http://localhost:8000/</c>.</summary>
    public Uri BaseAddress { get; set; } = new(DefaultBaseAddress);

    /// <summary>
    /// The API key: sent as <c>Authorization: Bearer</c> on REST and as the access token on the hub. Leave null for a
    /// server without a key (development mode).
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// A token factory, for credentials that expire (JWTs): asked before each REST request and for each hub connection,
    /// in place of <see cref="ApiKey"/>. The server closes a hub connection when its token expires; the watch then
    /// reconnects with a fresh token from here and resumes after the last event it delivered, with no gap and no duplicate.
    /// </summary>
    public Func<Task<string?>>? AccessTokenProvider { get; set; }

    /// <summary>The hub protocol; <see cref="FelixProtocol.Json"/> by default.</summary>
    public FelixProtocol Protocol { get; set; } = FelixProtocol.Json;

    /// <summary>
    /// The hub transports to try. WebSockets and long polling by default: Server-Sent Events cannot carry MessagePack.
    /// </summary>
    public HttpTransportType Transports { get; set; } = HttpTransportType.WebSockets | HttpTransportType.LongPolling;

    /// <summary>
    /// The waits before each reconnect attempt (see <see cref="DefaultReconnectDelays"/>). Used by the hub connection's
    /// automatic reconnect and, when that gives up, for fresh connections; a watch throws once every attempt has failed.
    /// </summary>
    public IReadOnlyList<TimeSpan> ReconnectDelays { get; set; } = DefaultReconnectDelays;

    /// <summary>
    /// How long a watch waits in all, since its last event, when the server refuses it with 503 or 429 and a
    /// <c>Retry-After</c> (a server draining for a restart answers new connections so): each refusal is waited out as
    /// asked, plus up to a second of jitter, without using up <see cref="ReconnectDelays"/>; a wait that would go past
    /// this throws the refusal (with <see cref="TimeSpan.Zero"/>, the first one). Two minutes by default: a drain (20 s
    /// by default) and a restart, several times over.
    /// </summary>
    public TimeSpan RetryAfterLimit { get; set; } = DefaultRetryAfterLimit;

    /// <summary>The default of <see cref="RetryAfterLimit"/>.</summary>
    public static readonly TimeSpan DefaultRetryAfterLimit = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Whether to use SignalR's stateful reconnect (on by default; the server enables it): a short drop of a WebSocket is
    /// bridged on the same connection and loses nothing. Longer drops are resumed by sequence either way.
    /// </summary>
    public bool StatefulReconnect { get; set; } = true;

    /// <summary>
    /// Creates the message handler for REST (when the client owns its <see cref="HttpClient"/>) and for the hub's HTTP
    /// requests (negotiate, long polling). A seam for tests and proxies; null for the default handler.
    /// </summary>
    public Func<HttpMessageHandler>? HttpMessageHandlerFactory { get; set; }

    /// <summary>
    /// Opens the hub's WebSocket. A seam for tests (to hold and abort the socket) and custom TLS; null for the default.
    /// A custom factory must send the key itself, e.g. as <c>Authorization: Bearer</c>.
    /// </summary>
    public Func<WebSocketConnectionContext, CancellationToken, ValueTask<WebSocket>>? WebSocketFactory { get; set; }

    internal Uri NormalizedBaseAddress =>
        BaseAddress.AbsoluteUri.EndsWith('/') ? BaseAddress : new Uri(BaseAddress.AbsoluteUri + "/");
}
