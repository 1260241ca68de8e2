using System.Net.WebSockets;
using System.Threading.Channels;

/// <summary>
/// What both bare Kestrel broadcasters do with an accepted socket: send every queued frame as one WebSocket message, in
/// order, and read (and ignore) what the client sends until it closes.
/// </summary>
internal static class SocketPump
{
    public static Channel<ReadOnlyMemory<byte>> CreateQueue() =>
        Channel.CreateUnbounded<ReadOnlyMemory<byte>>(new UnboundedChannelOptions { SingleReader = true });

    public static async Task RunAsync(WebSocket socket, Channel<ReadOnlyMemory<byte>> queue, WebSocketMessageType type, CancellationToken aborted)
    {
        var receive = Task.Run(async () =>
        {
            var buffer = new byte[256];
            try
            {
                while (socket.State == WebSocketState.Open)
                {
                    var result = await socket.ReceiveAsync(buffer, aborted);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }

            queue.Writer.TryComplete();
        });
        try
        {
            await foreach (var frame in queue.Reader.ReadAllAsync(aborted))
            {
                await socket.SendAsync(frame, type, endOfMessage: true, aborted);
            }

            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }

        await receive;
    }
}
