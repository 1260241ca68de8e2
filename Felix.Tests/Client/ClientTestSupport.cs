using System.Net.WebSockets;
using Felix.Client;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Connections.Client;

namespace Felix.Tests.Client;

internal static class ClientTestSupport
{
    public const string Key = "client-test-key";

    public static readonly TheoryData<FelixProtocol> Protocols = new() { FelixProtocol.Json, FelixProtocol.MessagePack };

    /// <summary>A real Kestrel server on 127.0.0.1 with a key.</summary>
    public static FelixApplication CreateServer() =>
        new(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key }, kestrel: true);

    public static FelixClient CreateClient(FelixApplication app, FelixProtocol protocol = FelixProtocol.Json, string? key = Key, Action<FelixClientOptions>? configure = null)
    {
        var options = new FelixClientOptions
        {
            BaseAddress = app.BaseAddress,
            ApiKey = key,
            Protocol = protocol,
            Transports = HttpTransportType.WebSockets,
            // Reconnect at once: the tests drop connections on purpose and the server is right there.
            ReconnectDelays = [TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromMilliseconds(100)],
        };
        configure?.Invoke(options);
        return new FelixClient(options);
    }
}

/// <summary>
/// The client's WebSocket seam: opens real sockets (with the key, as the default factory would) and keeps the latest, so a
/// test can abort it under a running watch.
/// </summary>
internal sealed class AbortableSockets(string key)
{
    private readonly List<ClientWebSocket> _sockets = [];

    public int Count
    {
        get { lock (_sockets) { return _sockets.Count; } }
    }

    public async ValueTask<WebSocket> ConnectAsync(WebSocketConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", $"Bearer {key}");
        await socket.ConnectAsync(context.Uri, cancellationToken);
        lock (_sockets)
        {
            _sockets.Add(socket);
        }

        return socket;
    }

    /// <summary>Drops the current connection the way a network failure does: no close handshake.</summary>
    public void AbortLatest()
    {
        lock (_sockets)
        {
            _sockets[^1].Abort();
        }
    }
}
