using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;

/// <summary>
/// What both bare Kestrel broadcasters do with an accepted socket: send the queued frames in order, and read (and
/// ignore) what the client sends until it closes. The raw protocol needs one WebSocket message per frame; hub messages
/// carry their own framing, so with <c>batch</c> the frames waiting in the queue go out together in one WebSocket
/// message (up to 64 KiB), as SignalR's transport sends what is waiting in its pipe.
/// </summary>
internal static class SocketPump
{
    public static Channel<ReadOnlyMemory<byte>> CreateQueue() =>
        Channel.CreateUnbounded<ReadOnlyMemory<byte>>(new UnboundedChannelOptions { SingleReader = true });

    private const int MaxBatchBytes = 64 * 1024;

    public static async Task RunAsync(WebSocket socket, Channel<ReadOnlyMemory<byte>> queue, WebSocketMessageType type, bool batch, CancellationToken aborted)
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
            var reader = queue.Reader;
            while (await reader.WaitToReadAsync(aborted))
            {
                while (reader.TryRead(out var frame))
                {
                    if (!batch || !reader.TryPeek(out var next) || frame.Length + next.Length > MaxBatchBytes)
                    {
                        await socket.SendAsync(frame, type, endOfMessage: true, aborted);
                        continue;
                    }

                    var buffer = ArrayPool<byte>.Shared.Rent(MaxBatchBytes);
                    frame.Span.CopyTo(buffer);
                    var length = frame.Length;
                    while (reader.TryPeek(out next) && length + next.Length <= MaxBatchBytes && reader.TryRead(out next))
                    {
                        next.Span.CopyTo(buffer.AsSpan(length));
                        length += next.Length;
                    }

                    await socket.SendAsync(buffer.AsMemory(0, length), type, endOfMessage: true, aborted);
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }

            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }

        await receive;
    }
}
