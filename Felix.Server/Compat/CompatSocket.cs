using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using Felix.Server.Streaming;

namespace Felix.Server.Compat;

/// <summary>
/// One raw WebSocket: serialised sends with a timeout (a peer that stops reading is dropped, not waited on), the
/// client's text commands, the original's JSON keepalive ping, and a close that lets the client read to the end.
/// </summary>
/// <remarks>
/// The send timeout is enforced by <paramref name="watchdog"/>, which aborts the connection (<paramref name="request"/>'s,
/// the HTTP connection under the socket, so a write blocked on a full TCP window ends too, and <paramref name="abort"/>)
/// when a send runs too long. The request is held rather than a delegate to its <c>Abort</c>, one object less per connection.
/// Without a watchdog (a socket that is only refused and closed) sends have no timeout beyond the bounded close.
/// </remarks>
internal sealed class CompatSocket(
    WebSocket socket, CompatOptions options, TimeProvider time, CompatSendWatchdog? watchdog = null, Action? abort = null, HttpContext? request = null)
{
    private static readonly byte[] Pong = "pong"u8.ToArray();
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(5);

    /// <summary>How long a 1001 close waits for the client's reply while the server shuts down.</summary>
    private static readonly TimeSpan ShutdownCloseWait = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _sendLock = new(1, 1);
    // No timer and no registration of its own: only the stream's readers register on it, and nothing needs disposing.
    private readonly CancellationTokenSource _stop = new();
    private long _lastClientMessage = time.GetTimestamp();
    private volatile bool _pinging;

    // The watchdog beat the send in flight started on, 0 when none is.
    private long _sendStarted;
    private int _timedOut;

    public WebSocketState State => socket.State;

    /// <summary>
    /// Cancelled when the stream should stop sending: the application stops (the watchdog's sweep), the credential expires
    /// or the stream ends. Each stream has this one token source rather than sources linked to the request, the
    /// application and the expiry, and receiving takes no token at all (see <see cref="AbortReceive"/>).
    /// </summary>
    public CancellationToken Stopping => _stop.Token;

    public void Stop()
    {
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public Task SendPongAsync(CancellationToken cancellationToken) => SendAsync(Pong, cancellationToken);

    /// <summary>Sends one text frame. Throws <see cref="OperationCanceledException"/> when cancelled or timed out (the socket is then aborted).</summary>
    /// <remarks>
    /// The timeout covers the wait for the previous send and this one together: the clock starts before the lock. The
    /// frame goes to the socket with no token, which keeps <c>ManagedWebSocket</c> on its synchronous fast path; the
    /// caller's token is checked before the send, and a stop closes or aborts the socket anyway.
    /// </remarks>
    public async Task SendAsync(ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken)
    {
        var started = watchdog?.CurrentBeat ?? 0;
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            Volatile.Write(ref _sendStarted, started);
            await socket.SendAsync(utf8Json, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        }
        catch (Exception ex) when (Volatile.Read(ref _timedOut) == 1 && ex is not OperationCanceledException)
        {
            throw new OperationCanceledException("The send timed out: the peer stopped reading.", ex);
        }
        finally
        {
            Volatile.Write(ref _sendStarted, 0);
            _sendLock.Release();
        }

        // An aborted connection can swallow a write; the frame was not delivered.
        if (Volatile.Read(ref _timedOut) == 1)
        {
            throw new OperationCanceledException("The send timed out: the peer stopped reading.");
        }
    }

    /// <summary>Aborts the connection when the send in flight started before watchdog beat <paramref name="beat"/>.</summary>
    internal void AbortIfSendStartedBefore(long beat)
    {
        var started = Volatile.Read(ref _sendStarted);
        if (started != 0 && started < beat && Interlocked.Exchange(ref _timedOut, 1) == 0)
        {
            Abort();
        }
    }

    /// <summary>
    /// Reads client messages until the client closes, passing each text command to <paramref name="onCommand"/>.
    /// Returns the close status to answer with, or null when the client closed (or vanished) itself.
    /// </summary>
    public Task<(WebSocketCloseStatus Status, string Reason)?> ReceiveAsync(Func<string, Task> onCommand, CancellationToken cancellationToken) =>
        ReceiveAsync(static (_, command, onCommand) => onCommand(command), onCommand, cancellationToken);

    /// <summary>
    /// As <see cref="ReceiveAsync(Func{string, Task}, CancellationToken)"/>, with the command's context passed as
    /// <paramref name="state"/> to a static callback, so that an open connection holds no closure for it.
    /// A stream receives with no token and ends an unfinished receive with <see cref="AbortReceive"/>.
    /// </summary>
    public async Task<(WebSocketCloseStatus Status, string Reason)?> ReceiveAsync<TState>(
        Func<CompatSocket, string, TState, Task> onCommand, TState state, CancellationToken cancellationToken = default)
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

                            await onCommand(this, text, state);
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

    /// <summary>
    /// Starts the original's keepalive: a JSON ping after each <see cref="StreamingOptions.PingInterval"/> without a client
    /// message, sent by the watchdog's ping beat (so up to a tenth of the interval, at most 1 s, late) until
    /// <see cref="Stopping"/>. The first ping comes a whole interval after this call at the earliest.
    /// </summary>
    public void StartPinging()
    {
        Interlocked.Exchange(ref _lastClientMessage, time.GetTimestamp());
        _pinging = true;
    }

    /// <summary>Pings the client when it has been quiet for <paramref name="interval"/> at <paramref name="now"/>; from the ping beat.</summary>
    internal void PingIfQuiet(long now, TimeSpan interval)
    {
        if (!_pinging || _stop.IsCancellationRequested || socket.State != WebSocketState.Open
            || time.GetElapsedTime(Interlocked.Read(ref _lastClientMessage), now) < interval)
        {
            return;
        }

        // Noted before the send, so a beat that comes while this ping is still being sent does not send another.
        Interlocked.Exchange(ref _lastClientMessage, now);
        _ = PingAsync();
    }

    private async Task PingAsync()
    {
        try
        {
            // Off the beat's timer thread: connections opened together fall quiet together, and the beat must not send
            // all of their pings itself.
            await Task.Yield();
            await SendAsync(CompatFrames.Ping(Timestamps.Now(time)), Stopping);
        }
        catch (Exception)
        {
            // A ping that cannot go out means the stream is stopping or the socket is gone (a send that timed out was
            // aborted by the watchdog): the stream's own loops see that and end it; nobody waits on this send.
        }
    }

    /// <summary>
    /// Sends the close frame after every frame already sent. On a watched socket the close frame is a send like any
    /// other: a client that is still reading gets it whenever it gets there, and only one that stopped reading is cut off
    /// by the watchdog. An unwatched socket (a refusal, which has sent nothing) waits a bounded time, then aborts.
    /// </summary>
    public async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        using var timeout = watchdog is null ? new CancellationTokenSource(CloseWait) : null;
        var cancellationToken = timeout?.Token ?? CancellationToken.None;
        var started = watchdog?.CurrentBeat ?? 0;
        try
        {
            await _sendLock.WaitAsync(cancellationToken);
            try
            {
                Volatile.Write(ref _sendStarted, started);
                await socket.CloseOutputAsync(status, CompatCloseCodes.Fit(reason), cancellationToken);
            }
            finally
            {
                Volatile.Write(ref _sendStarted, 0);
                _sendLock.Release();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            socket.Abort();
        }
    }

    /// <summary>
    /// Closes for a client's fault (a binary or oversized message) with the whole handshake: the stream stops sending, the
    /// close frame goes out, and what the client still sends is read and dropped until its close reply, for at most
    /// <see cref="CloseWait"/>. Ending the connection with the client's data unread would reset it, and a client still
    /// sending (a big message in fragments) would lose the close frame and its reason with the reset.
    /// </summary>
    public async Task RefuseAsync(WebSocketCloseStatus status, string reason)
    {
        Stop();
        await CloseAsync(status, reason);
        if (socket.State != WebSocketState.CloseSent)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(CloseWait, time);
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            while ((await socket.ReceiveAsync(buffer.AsMemory(), timeout.Token)).MessageType != WebSocketMessageType.Close)
            {
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // No close reply in time (a cancelled receive aborts the socket) or the client went away: either ends it.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Ends the stream as the protocol asks: the close frame, then the client's close reply, awaited for at most
    /// <see cref="CompatOptions.CloseTimeout"/>. <paramref name="receive"/> is the loop of <see cref="ReceiveAsync"/>,
    /// which ends when the reply arrives.
    /// </summary>
    public async Task CloseAndWaitAsync(WebSocketCloseStatus status, string reason, Task receive)
    {
        await CloseAsync(status, reason);
        if (socket.State == WebSocketState.CloseSent)
        {
            // A shutdown waits less: the client reconnects elsewhere and resumes, and the node's stop must not hang on it.
            var wait = status == CompatCloseCodes.GoingAway ? ShutdownCloseWait : options.CloseTimeout;
            await Task.WhenAny(receive, Task.Delay(wait, time));
        }
    }

    /// <summary>Ends a receive still waiting for the client (as a cancelled receive does: the socket is aborted).</summary>
    public void AbortReceive() => socket.Abort();

    public void Abort()
    {
        socket.Abort();
        abort?.Invoke();
        request?.Abort();
    }
}
