using System.Net.WebSockets;

namespace Felix.Bench.Load;

/// <summary>Consumes the whole hub messages at the start of <c>buffer[start..end]</c> by moving <paramref name="start"/>; false to stop reading.</summary>
internal delegate bool HubDispatch(byte[] buffer, ref int start, int end);

/// <summary>The receive side of the bench's lean hub clients: the handshake's answer, then the hub's byte stream.</summary>
internal static class HubStream
{
    /// <summary>
    /// Reads until the server closes or <paramref name="dispatch"/> says stop: waits for the handshake's answer (a refusal
    /// throws), sends <paramref name="subscribe"/>, then hands what arrived to <paramref name="dispatch"/>. Messages are
    /// read from a byte stream, not per WebSocket message: the server may put many hub messages in one WebSocket message
    /// (and could split one across two), so a partial message stays in the buffer for the next read.
    /// </summary>
    /// <summary>Ends a client: aborts its socket, waits for its receive and ping loops (either may not have started), disposes it.</summary>
    public static async Task CloseAsync(WebSocket socket, Task? receive, Task? ping)
    {
        socket.Abort();
        if (receive is not null)
        {
            await receive;
        }

        if (ping is not null)
        {
            await ping;
        }

        socket.Dispose();
    }

    public static async Task ReadAsync(WebSocket socket, byte[] subscribe, WebSocketMessageType subscribeType, HubDispatch dispatch, int bufferSize)
    {
        var buffer = new byte[bufferSize];
        var start = 0;
        var end = 0;
        var handshaken = false;
        while (true)
        {
            if (end == buffer.Length)
            {
                if (start > 0)
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                }
                else
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }
            }

            var result = await socket.ReceiveAsync(buffer.AsMemory(end), CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return;
            }

            end += result.Count;
            if (!handshaken)
            {
                var separator = buffer.AsSpan(start, end - start).IndexOf(HubFrames.RecordSeparator);
                if (separator < 0)
                {
                    continue;
                }

                if (buffer.AsSpan(start, separator).IndexOf("\"error\""u8) >= 0)
                {
                    throw new InvalidOperationException("Handshake refused: " + System.Text.Encoding.UTF8.GetString(buffer, start, separator));
                }

                handshaken = true;
                start += separator + 1;
                await socket.SendAsync(subscribe, subscribeType, true, CancellationToken.None);
            }

            if (!dispatch(buffer, ref start, end))
            {
                return;
            }

            if (start == end)
            {
                start = end = 0;
            }
        }
    }
}
