using System.Net.WebSockets;
using Felix.Bench.Contracts;
using Felix.Contracts;

namespace Felix.Bench.Load;

/// <summary>
/// A subscriber of a paced run, on the raw protocol (<c>/api/v1/ws/workflows/{id}?types=all</c>) or the workflow hub
/// with MessagePack (the lean client's handshake and <c>Subscribe</c>). Every frame after <see cref="Begin"/> counts as
/// a delivery, whatever its type; a frame's own <c>timestamp</c> (stamped by the server when it published the event)
/// gives its latency. It is done when the workflow's terminal event arrives. The recording client of each workflow also
/// keeps every frame's bytes and publish offset: the trace the bare server replays.
/// </summary>
internal sealed class PacedClient(string transport, bool records) : IAsyncDisposable
{
    private static readonly byte[] CompleteType = "\"type\":\"workflow_complete\""u8.ToArray();
    private static readonly byte[] ErrorType = "\"type\":\"workflow_error\""u8.ToArray();

    private readonly ClientWebSocket _socket = new();
    private readonly bool _binary = transport == "messagepack";
    private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile PacedWindow? _window;
    private PeriodicTimer? _pingTimer;
    private Task? _receive;
    private Task? _ping;
    private long _received;
    private long _bytes;

    public long Received => Interlocked.Read(ref _received);

    /// <summary>Bytes of the frames counted (hub messages with their length prefix): the same on both servers when the frames are.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Completes when the workflow's terminal event arrives (or the connection ends).</summary>
    public Task Done => _done.Task;

    /// <summary>When the last frame arrived, on the window's clock.</summary>
    public TimeSpan LastReceipt { get; private set; }

    /// <summary>The frames since <see cref="Begin"/>, if this client records.</summary>
    public List<TracedFrame> Trace { get; } = [];

    public async Task ConnectAsync(Uri server, string workflowId, CancellationToken cancellationToken)
    {
        _socket.Options.KeepAliveInterval = Timeout.InfiniteTimeSpan;
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_binary)
        {
            await _socket.ConnectAsync(new UriBuilder(new Uri(server, HubPaths.Workflows)) { Scheme = "ws" }.Uri, cancellationToken);
            await _socket.SendAsync(HubFrames.Handshake(transport), WebSocketMessageType.Text, true, cancellationToken);
            _receive = ReceiveHubAsync(HubFrames.MessagePackInvocation("0", nameof(IWorkflowHub.Subscribe), workflowId, null), connected);
        }
        else
        {
            await _socket.ConnectAsync(new UriBuilder(new Uri(server, $"/api/v1/ws/workflows/{workflowId}?types=all")) { Scheme = "ws" }.Uri, cancellationToken);
            _receive = ReceiveRawAsync(connected);
        }

        await connected.Task.WaitAsync(cancellationToken);
        if (_binary)
        {
            // Inside the hubs' 30 s client timeout, as the lean client does.
            _pingTimer = new PeriodicTimer(TimeSpan.FromSeconds(15));
            _ping = PingAsync(_pingTimer);
        }
    }

    private async Task PingAsync(PeriodicTimer timer)
    {
        try
        {
            while (await timer.WaitForNextTickAsync())
            {
                await _socket.SendAsync(HubFrames.MessagePackPing, WebSocketMessageType.Binary, true, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Starts counting into <paramref name="window"/>: what arrived before (the connection's own frames, the history of
    /// a workflow not yet started, a warm-up) is not counted, and a terminal event seen before no longer counts.
    /// </summary>
    public void Begin(PacedWindow window)
    {
        Interlocked.Exchange(ref _received, 0);
        Interlocked.Exchange(ref _bytes, 0);
        Trace.Clear();
        _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _window = window;
    }

    private void OnFrame(ReadOnlySpan<byte> frame, bool terminal, long ticks)
    {
        if (_window is { } window)
        {
            var now = window.Clock.Elapsed;
            LastReceipt = now;
            Interlocked.Increment(ref _received);
            Interlocked.Add(ref _bytes, frame.Length);
            if (ticks > 0)
            {
                window.Latencies.Record((DateTime.UtcNow.Ticks - ticks) / 10);
            }

            if (records)
            {
                // Offsets are publish times where the frame has one (the server's pace, not the delivery's jitter).
                var offset = ticks > 0 ? (ticks - window.StartTicks) / 10 : (long)now.TotalMicroseconds;
                Trace.Add(new TracedFrame(Math.Max(0, offset), frame.ToArray()));
            }
        }

        if (terminal)
        {
            _done.TrySetResult();
        }
    }

    private async Task ReceiveRawAsync(TaskCompletionSource connected)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                    length += result.Count;
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    // The real server closes (1000) after the terminal event and waits for the reply.
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                    break;
                }

                if (connected.TrySetResult())
                {
                    // The first frame is "connected": the subscription exists from then on.
                    continue;
                }

                var frame = buffer.AsSpan(0, length);
                OnFrame(frame, frame.IndexOf(CompleteType) >= 0 || frame.IndexOf(ErrorType) >= 0, WireTimestamp.FindInJson(frame));
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }

        connected.TrySetException(new InvalidOperationException("Closed before the connected frame."));
        _done.TrySetResult();
    }

    private async Task ReceiveHubAsync(byte[] subscribe, TaskCompletionSource subscribed)
    {
        try
        {
            await HubStream.ReadAsync(_socket, subscribe, WebSocketMessageType.Binary, DispatchHub, 64 * 1024);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            subscribed.TrySetException(ex);
        }

        subscribed.TrySetException(new InvalidOperationException("Closed before Subscribe completed."));
        _done.TrySetResult();

        bool DispatchHub(byte[] buffer, ref int start, int end)
        {
            while (HubFrames.TryReadLengthPrefixed(buffer.AsSpan(start, end - start), out var prefix, out var length))
            {
                var kind = HubFrames.ParseMessagePackEvent(buffer.AsMemory(start + prefix, length), out var terminal, out var ticks);
                if (kind == HubMessageKind.Event)
                {
                    OnFrame(buffer.AsSpan(start, prefix + length), terminal, ticks);
                }
                else if (kind is HubMessageKind.Completion)
                {
                    subscribed.TrySetResult();
                }
                else if (kind is HubMessageKind.CompletionError or HubMessageKind.Close)
                {
                    throw new InvalidOperationException($"The hub answered {kind}.");
                }

                start += prefix + length;
            }

            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _pingTimer?.Dispose();
        await HubStream.CloseAsync(_socket, _receive, _ping);
    }
}
