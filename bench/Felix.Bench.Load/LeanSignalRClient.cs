using System.Net.WebSockets;
using Felix.Contracts;

namespace Felix.Bench.Load;

/// <summary>
/// The workflow hub spoken over a bare <see cref="ClientWebSocket"/>, as lean as <see cref="RawClient"/>: no negotiation
/// (ASP.NET Core accepts a WebSocket on the hub path directly), the handshake, one <c>Subscribe(id, null)</c> invocation,
/// then the messages are read from the receive buffer and only each event's timestamp is parsed. A ping every 15 s keeps
/// idle connections inside the server's 30 s client timeout.
/// </summary>
internal sealed class LeanSignalRClient(RunSink sink, string protocol) : BenchClient(sink)
{
    private static readonly TimeSpan PingInterval = TimeSpan.FromSeconds(15);

    private readonly ClientWebSocket _socket = new();
    private readonly bool _binary = protocol == "messagepack";
    private PeriodicTimer? _pingTimer;
    private Task? _receive;
    private Task? _ping;

    public override async Task ConnectAsync(Uri server, string workflowId, HttpMessageInvoker? invoker, CancellationToken cancellationToken)
    {
        var uri = new UriBuilder(new Uri(server, HubPaths.Workflows)) { Scheme = "ws" }.Uri;
        _socket.Options.KeepAliveInterval = Timeout.InfiniteTimeSpan;
        await _socket.ConnectAsync(uri, invoker, cancellationToken);
        await _socket.SendAsync(HubFrames.Handshake(protocol), WebSocketMessageType.Text, true, cancellationToken);
        var subscribe = _binary
            ? HubFrames.MessagePackInvocation("0", nameof(IWorkflowHub.Subscribe), workflowId, null)
            : HubFrames.JsonInvocation("0", nameof(IWorkflowHub.Subscribe), workflowId, null);
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _receive = ReceiveAsync(subscribe, subscribed);
        await subscribed.Task.WaitAsync(cancellationToken);
        _pingTimer = new PeriodicTimer(PingInterval);
        _ping = PingAsync(_pingTimer);
    }

    private async Task PingAsync(PeriodicTimer timer)
    {
        var ping = _binary ? HubFrames.MessagePackPing : HubFrames.JsonPing;
        var type = _binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text;
        try
        {
            while (await timer.WaitForNextTickAsync())
            {
                await _socket.SendAsync(ping, type, true, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private async Task ReceiveAsync(byte[] subscribe, TaskCompletionSource subscribed)
    {
        try
        {
            await HubStream.ReadAsync(_socket, subscribe, _binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text,
                (byte[] buffer, ref int start, int end) => Dispatch(buffer, ref start, end, subscribed), 8 * 1024);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        catch (Exception ex)
        {
            subscribed.TrySetException(ex);
        }

        Closed = true;
        subscribed.TrySetException(new InvalidOperationException("Closed before Subscribe completed."));
    }

    /// <summary>Handles every complete message in <c>buffer[start..end]</c>; false when the server closes the connection.</summary>
    private bool Dispatch(byte[] buffer, ref int start, int end, TaskCompletionSource subscribed)
    {
        while (start < end)
        {
            HubMessageKind kind;
            long ticks;
            if (_binary)
            {
                if (!HubFrames.TryReadLengthPrefixed(buffer.AsSpan(start, end - start), out var prefix, out var length))
                {
                    return true;
                }

                kind = HubFrames.ParseMessagePack(buffer.AsMemory(start + prefix, length), out ticks);
                start += prefix + length;
            }
            else
            {
                var length = buffer.AsSpan(start, end - start).IndexOf(HubFrames.RecordSeparator);
                if (length < 0)
                {
                    return true;
                }

                kind = HubFrames.ParseJson(buffer.AsSpan(start, length), out ticks);
                start += length + 1;
            }

            switch (kind)
            {
                case HubMessageKind.Event:
                    OnEvent(ticks);
                    break;
                case HubMessageKind.Completion:
                    subscribed.TrySetResult();
                    break;
                case HubMessageKind.CompletionError:
                    subscribed.TrySetException(new InvalidOperationException("Subscribe failed."));
                    break;
                case HubMessageKind.Close:
                    return false;
            }
        }

        return true;
    }

    public override async ValueTask DisposeAsync()
    {
        _pingTimer?.Dispose();
        await HubStream.CloseAsync(_socket, _receive, _ping);
    }
}
