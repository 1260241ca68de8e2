using System.Buffers;
using System.Diagnostics;
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
    private CancellationTokenSource _sendTimeout = new();
    private long _lastClientMessage = time.GetTimestamp();

    public WebSocketState State => socket.State;

    public Task SendPongAsync(CancellationToken cancellationToken) => SendAsync(Pong, cancellationToken);

    /// <summary>Sends one text frame. Throws <see cref="OperationCanceledException"/> when cancelled or timed out (the socket is then aborted).</summary>
    /// <remarks>
    /// The timeout (<see cref="CompatOptions.SendTimeout"/>, lock wait and send together) runs on one token source per
    /// socket, re-armed for each send: a linked source and a timer per frame were half of what fan-out allocated.
    /// </remarks>
    public async Task SendAsync(ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        if (!await _sendLock.WaitAsync(options.SendTimeout, cancellationToken))
        {
            throw new OperationCanceledException("The send timed out waiting for the previous one.");
        }

        try
        {
            if (options.SendTimeout != Timeout.InfiniteTimeSpan)
            {
                var remaining = options.SendTimeout - Stopwatch.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero)
                {
                    throw new OperationCanceledException("The send timed out waiting for the previous one.");
                }

                _sendTimeout.CancelAfter(remaining);
            }

            using (cancellationToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), _sendTimeout))
            {
                await socket.SendAsync(utf8Json, WebSocketMessageType.Text, endOfMessage: true, _sendTimeout.Token);
            }
        }
        finally
        {
            // Disarm for the next send; a source that fired cannot be reset, and its socket is aborted anyway.
            if (!_sendTimeout.TryReset())
            {
                _sendTimeout.Dispose();
                _sendTimeout = new CancellationTokenSource();
            }

            _sendLock.Release();
        }
    }

    /// <summary>
    /// Reads client messages until the client closes, passing each text command to <paramref name="onCommand"/>.
    /// Returns the close status to answer with, or null when the client closed (or vanished) itself.
    /// </summary>
    public async Task<(WebSocketCloseStatus Status, string Reason)?> ReceiveAsync(Func<string, Task> onCommand, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                // Wait for the next message with no buffer: most connections are idle, and an idle one then holds none.
                var result = await socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken);
                var buffer = ArrayPool<byte>.Shared.Rent(options.MaxClientMessageBytes);
                try
                {
                    var length = 0;
                    while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close)
                    {
                        if (length == options.MaxClientMessageBytes)
                        {
                            return (WebSocketCloseStatus.MessageTooBig, CompatCloseCodes.MessageTooBig);
                        }

                        result = await socket.ReceiveAsync(buffer.AsMemory(length, options.MaxClientMessageBytes - length), cancellationToken);
                        length += result.Count;
                    }

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
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (WebSocketException)
        {
            return null;
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
