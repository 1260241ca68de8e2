using System.Net.WebSockets;
using System.Text.Json;
using Felix.Contracts.Events;
using Felix.Server.Security;
using Felix.Server.Streaming;
using Microsoft.Extensions.Options;

namespace Felix.Server.Compat;

/// <summary><c>/api/v1/ws/system/events</c>: <c>connected</c>, then system events; <c>stats</c> answers connection counts.</summary>
internal sealed class CompatSystemStream(
    SystemEventBus bus,
    CompatConnections connections,
    CompatSendWatchdog watchdog,
    IHostApplicationLifetime lifetime,
    IOptions<CompatOptions> options,
    IOptions<StreamingOptions> streaming,
    TimeProvider time)
{
    public async Task RunAsync(HttpContext context, WebSocket webSocket)
    {
        var socket = new CompatSocket(webSocket, options.Value, streaming.Value, time, watchdog, context.Abort);
        using var watched = watchdog.Watch(socket);
        if (!FelixClaims.IsAdmin(context.User))
        {
            await socket.CloseAsync(CompatCloseCodes.PolicyViolation, "Forbidden: the system stream needs the admin scope");
            return;
        }

        using var tracked = connections.TrackSystem();
        // Sending stops when the server stops; receiving goes on until the client's close reply (a cancelled receive
        // aborts the socket before the 1001 close could leave).
        using var expired = CompatEndpoints.CredentialExpiry(context) is { } expiresAt
            ? new CancellationTokenSource(CompatEndpoints.UntilExpiry(expiresAt, time), time)
            : new CancellationTokenSource();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping, expired.Token);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var events = bus.Listen(stop.Token);
        try
        {
            await socket.SendAsync(CompatFrames.SystemConnected(connections.NextId(), Timestamps.Now(time)), stop.Token);
            var receive = socket.ReceiveAsync(command => command switch
            {
                "ping" => socket.SendPongAsync(stop.Token),
                "stats" => socket.SendAsync(
                    CompatFrames.ConnectionStats(connections.Total, connections.PerWorkflow, connections.SystemCount, Timestamps.Now(time)), stop.Token),
                _ => Task.CompletedTask,
            }, done.Token);
            var send = SendAsync(socket, events, stop.Token);
            var ping = socket.PingAsync(stop.Token);
            var first = await Task.WhenAny(receive, send);
            if (first == send)
            {
                var slow = send.IsFaulted && send.Exception?.InnerException is SlowConsumerException;
                var (status, reason) = slow ? (CompatCloseCodes.SlowConsumer, CompatCloseCodes.SlowConsumerReason)
                    : expired.IsCancellationRequested && !lifetime.ApplicationStopping.IsCancellationRequested
                        ? (CompatCloseCodes.CredentialsExpired, CompatCloseCodes.SystemCredentialsExpiredReason)
                        : (CompatCloseCodes.GoingAway, CompatCloseCodes.ServerShutdown);
                await socket.CloseAndWaitAsync(status, reason, receive);
            }
            else if (await receive is { } refusal)
            {
                await socket.CloseAsync(refusal.Status, refusal.Reason);
            }
            else
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "");
            }

            await stop.CancelAsync();
            await done.CancelAsync();
            await CompatWorkflowStream.Quietly(receive, send, ping);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            socket.Abort();
        }
    }

    private static async Task SendAsync(CompatSocket socket, System.Threading.Channels.ChannelReader<SystemEvent> events, CancellationToken cancellationToken)
    {
        await foreach (var evt in events.ReadAllAsync(cancellationToken))
        {
            await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(evt, PublishedEvent.SnakeCaseJson), cancellationToken);
        }
    }
}
