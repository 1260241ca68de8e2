using Microsoft.AspNetCore.Connections.Abstractions;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.SignalR;

namespace Felix.Server.Hubs;

/// <summary>
/// Releases a write that a stateful-reconnect connection left waiting on the pipe of the socket it lost, once SignalR
/// has resent its buffer on the new socket. Without this the connection takes no write after the reconnect.
/// </summary>
/// <remarks>
/// A write's bytes go into the pipe of the socket at hand, and the write waits while that pipe holds more than its limit
/// (64 KiB). When the socket drops without a close, SignalR's WebSocket transport stops reading that pipe and never
/// completes its reader (it does so only on a graceful close), and the resend on the new socket completes the pipe's
/// writer, which does not end a flush already waiting (ASP.NET Core 10.0: <c>WebSocketsServerTransport</c>,
/// <c>MessageBuffer.ResendAsync</c>). A write caught there never ends and keeps the connection's write lock, so every
/// later write, ping and ack waits behind it until something aborts the connection (here the send deadline). Its
/// message is not lost: SignalR buffered it before writing and resent it. So once the resend has run (this callback is
/// registered after SignalR's own, in the handshake, and runs after it), the old pipe's waiting flush is cancelled: the
/// write returns, and the next ones go to the new socket.
/// </remarks>
internal sealed class StatefulReconnectPipeRelease : IHubFilter
{
    public Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        var features = context.Context.Features;
#pragma warning disable CA2252 // IStatefulReconnectFeature is a preview API
        if (features.Get<IStatefulReconnectFeature>() is { } reconnect && features.Get<IConnectionTransportFeature>() is { } transport)
        {
            var current = transport.Transport.Output;
            reconnect.OnReconnected(writer =>
            {
                Interlocked.Exchange(ref current, writer).CancelPendingFlush();
                return Task.CompletedTask;
            });
        }
#pragma warning restore CA2252

        return next(context);
    }
}
