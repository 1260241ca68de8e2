using System.Net.WebSockets;

namespace Felix.Tests.Infrastructure;

/// <summary>
/// A client WebSocket whose network can be made to go (<see cref="Drop"/>): the socket is aborted, without a close, the
/// next time the client reads after a whole WebSocket message, so the client holds no part of a message when it goes.
/// </summary>
/// <remarks>
/// The .NET SignalR client (10.0) keeps the pipe its received bytes go into across a stateful reconnect, so a drop in the
/// middle of a message leaves that message's first part in front of what the server resends, and the client fails to
/// parse it (<c>WebSocketsTransport.UpdateConnectionPair</c>). That is the client's defect, not the server's, and tests
/// of what the server resends drop between messages.
/// </remarks>
internal sealed class DroppableWebSocket(ClientWebSocket inner) : WebSocket
{
    private volatile bool _dropRequested;
    private bool _betweenMessages = true;
    private int _messages;

    public override WebSocketCloseStatus? CloseStatus => inner.CloseStatus;

    public override string? CloseStatusDescription => inner.CloseStatusDescription;

    public override WebSocketState State => inner.State;

    public override string? SubProtocol => inner.SubProtocol;

    /// <summary>Whole WebSocket messages received so far.</summary>
    public int Messages => Volatile.Read(ref _messages);

    /// <summary>Cuts the socket before the next read that would start a new message.</summary>
    public void Drop()
    {
        _dropRequested = true;
    }

    public override async ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        CutIfAsked();
        var result = await inner.ReceiveAsync(buffer, cancellationToken);
        if (result.Count > 0 || result.MessageType == WebSocketMessageType.Close)
        {
            _betweenMessages = result.EndOfMessage;
            if (result.EndOfMessage)
            {
                Interlocked.Increment(ref _messages);
            }
        }

        return result;
    }

    public override async Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken)
    {
        var result = await ReceiveAsync(buffer.AsMemory(), cancellationToken);
        return new WebSocketReceiveResult(result.Count, result.MessageType, result.EndOfMessage, inner.CloseStatus, inner.CloseStatusDescription);
    }

    public override ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        inner.SendAsync(buffer, messageType, endOfMessage, cancellationToken);

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        inner.SendAsync(buffer, messageType, endOfMessage, cancellationToken);

    public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
        inner.CloseAsync(closeStatus, statusDescription, cancellationToken);

    public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
        inner.CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

    public override void Abort() => inner.Abort();

    public override void Dispose() => inner.Dispose();

    private void CutIfAsked()
    {
        if (_dropRequested && _betweenMessages)
        {
            inner.Abort();
        }
    }
}
