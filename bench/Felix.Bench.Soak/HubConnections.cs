using System.Net.WebSockets;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Bench.Soak;

/// <summary>A hub connection over WebSockets (half with negotiation) whose socket the caller can abort, like a dropped network.</summary>
internal static class HubConnections
{
    public static HubConnection Build(SoakContext soak, string path, bool messagePack, Action<ClientWebSocket> onSocket)
    {
        var key = soak.Options.ApiKey;
        var builder = new HubConnectionBuilder().WithUrl(soak.Options.BaseUrl + path, o =>
        {
            o.AccessTokenProvider = () => Task.FromResult<string?>(key);
            o.Transports = HttpTransportType.WebSockets;
            o.SkipNegotiation = SoakContext.Random.NextDouble() < 0.5;
            o.WebSocketFactory = async (context, cancellationToken) =>
            {
                var ws = new ClientWebSocket();
                ws.Options.SetRequestHeader("Authorization", "Bearer " + key);
                await ws.ConnectAsync(context.Uri, cancellationToken);
                onSocket(ws);
                return ws;
            };
        });
        if (messagePack)
        {
            builder.AddMessagePackProtocol();
        }

        return builder.Build();
    }

    /// <summary>Ends a connection the way clients do: <c>StopAsync</c>, or four times in ten a socket abort.</summary>
    public static async Task EndAsync(SoakContext soak, string loop, HubConnection connection, ClientWebSocket? socket)
    {
        if (SoakContext.Random.NextDouble() < 0.4 && socket is not null)
        {
            socket.Abort();
            soak.Count($"{loop}.abort");
            await Task.Delay(200);
        }
        else
        {
            await connection.StopAsync();
            soak.Count($"{loop}.stop");
        }
    }
}
