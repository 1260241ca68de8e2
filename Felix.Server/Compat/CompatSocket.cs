using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using Felix.Server.Streaming;

namespace Felix.Server.Compat;

/// <summary>
/// One raw WebSocket: serialised sends with a timeout (a peer that stops reading is dropped, not waited on), the
/// client's text commands, the original's JSON keepalive ping, and a bounded close.
/// </summary>
internal sealed class CompatSocket(WebSocket socket, CompatOptions options, StreamingOptions streaming, TimeProvider time)
{
    private static readonly byte[] Pong = "pong"u8.ToArray();
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private long _lastClientMessage = time.GetTimestamp();

    public WebSocketState State => socket.State;

    public Task SendPongAsync(CancellationToken cancellationToken) => SendAsync(Pong, cancellationToken);

    /// <summary>Sends one text frame. Throws <see cref="OperationCanceledException"/> when cancelled or timed out (the socket is then aborted).</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.SendTimeout);
        await _sendLock.WaitAsync(timeout.Token);
        try
        {
            await socket.SendAsync(utf8Json, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// Reads client messages until the client closes, passing each text command to <paramref name="onCommand"/>.
    /// Returns the close status to answer with, or null when the client closed (or vanished) itself.
    /// </summary>
    public async Task<(WebSocketCloseStatus Status, string Reason)?> ReceiveAsync(Func<string, Task> onCommand, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(options.MaxClientMessageBytes);
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == options.MaxClientMessageBytes)
                    {
                        return (WebSocketCloseStatus.MessageTooBig, CompatCloseCodes.MessageTooBig);
                    }

                    result = await socket.ReceiveAsync(buffer.AsMemory(length, options.MaxClientMessageBytes - length), cancellationToken);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                Interlocked.Exchange(ref _lastClientMessage, time.GetTimestamp());
                switch (result.MessageType)
                {
                    case WebSocketMessageType.Close:
                        return null;
                    case WebSocketMessageType.Binary:
                        return (WebSocketCloseStatus.InvalidMessageType, CompatCloseCodes.BinaryNotSupported);
                    default:
                        string text;
                        try
                        {
                            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer, 0, length).Trim();
                        }
                        catch (DecoderFallbackException)
                        {
                            return (WebSocketCloseStatus.InvalidPayloadData, "Text frames must be UTF-8");
                        }

                        await onCommand(text);
                        break;
                }
            }
        }
        catch (WebSocketException)
        {
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The original's keepalive: a JSON ping after each <see cref="StreamingOptions.PingInterval"/> without a client message.</summary>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        var interval = streaming.PingInterval;
        var wait = interval;
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(wait, time, cancellationToken);
            var idle = time.GetElapsedTime(Interlocked.Read(ref _lastClientMessage));
            if (idle >= interval)
            {
                await SendAsync(CompatFrames.Ping(Timestamps.Now(time)), cancellationToken);
                Interlocked.Exchange(ref _lastClientMessage, time.GetTimestamp());
                wait = interval;
            }
            else
            {
                wait = interval - idle;
            }
        }
    }

    /// <summary>Closes with a status and reason, waiting a bounded time for the close handshake; aborts if it does not finish.</summary>
    public async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        using var timeout = new CancellationTokenSource(CloseWait);
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _sendLock.WaitAsync(timeout.Token);
                try
                {
                    await socket.CloseOutputAsync(status, CompatCloseCodes.Fit(reason), timeout.Token);
                }
                finally
                {
                    _sendLock.Release();
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            socket.Abort();
        }
    }

    public void Abort() => socket.Abort();
}
