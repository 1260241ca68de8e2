using System.Net.WebSockets;
using System.Text.Json;
using Felix.Contracts.Events;
using Felix.Server.Security;
using Felix.Server.Streaming;
using Microsoft.Extensions.Options;

namespace Felix.Server.Compat;

/// <summary>
/// <c>/api/v1/ws/system/events</c>: <c>connected</c>, then system events; <c>stats</c> answers connection counts. By
/// default only the types the original documented for this stream (<see cref="SystemEvent.Documented"/>); <c>types</c>
/// names others, or <c>all</c>.
/// </summary>
internal sealed class CompatSystemStream(
    SystemEventBus bus,
    CompatConnections connections,
    CompatSendWatchdog watchdog,
    IHostApplicationLifetime lifetime,
    IOptions<CompatOptions> options,
    TimeProvider time)
{
    public async Task RunAsync(HttpContext context)
    {
        if (await CompatEndpoints.AcceptAsync(context) is not { } accepted)
        {
            return;
        }

        var (webSocket, expiresAt) = accepted;
        using var disposeSocket = webSocket;
        var socket = new CompatSocket(webSocket, options.Value, time, watchdog, request: context);
        using var watched = watchdog.Watch(socket);
        if (!FelixClaims.IsAdmin(context.User))
        {
            await socket.CloseAsync(CompatCloseCodes.PolicyViolation, "Forbidden: the system stream needs the admin scope");
            return;
        }

        if (!TryParseTypes(context.Request.Query["types"], out var types))
        {
            await socket.CloseAsync(CompatCloseCodes.PolicyViolation, CompatCloseCodes.UnknownEventType);
            return;
        }

        using var tracked = connections.TrackSystem();
        // Sending stops when the server stops (the watchdog stops every socket); receiving goes on until the client's
        // close reply (an aborted receive aborts the socket before the 1001 close could leave).
        using var expired = expiresAt is { } at ? new CancellationTokenSource(CompatEndpoints.UntilExpiry(at, time), time) : null;
        using var expiry = expired?.Token.UnsafeRegister(static s => ((CompatSocket)s!).Stop(), socket) ?? default;
        var stopping = socket.Stopping;
        var events = bus.Listen(stopping);
        try
        {
            await socket.SendAsync(CompatFrames.SystemConnected(connections.NextId(), Timestamps.Now(time)), stopping);
            var receive = socket.ReceiveAsync(static (socket, command, stream) => stream.OnCommandAsync(socket, command), this);
            var send = SendAsync(socket, events, types, stopping);
            socket.StartPinging();
            var first = await Task.WhenAny(receive, send);
            if (first == send)
            {
                var slow = send.IsFaulted && send.Exception?.InnerException is SlowConsumerException;
                var (status, reason) = slow ? (CompatCloseCodes.SlowConsumer, CompatCloseCodes.SlowConsumerReason)
                    : expired?.IsCancellationRequested == true && !lifetime.ApplicationStopping.IsCancellationRequested
                        ? (CompatCloseCodes.CredentialsExpired, CompatCloseCodes.SystemCredentialsExpiredReason)
                        : (CompatCloseCodes.GoingAway, CompatCloseCodes.ServerShutdown);
                if (status == CompatCloseCodes.GoingAway && Wants(types, SystemEvent.SystemStatusChange))
                {
                    // This node's streams stop before its engine says so on the bus, so each says it itself, last.
                    await SendQuietlyAsync(socket, new SystemEvent
                    {
                        Type = SystemEvent.SystemStatusChange, Status = SystemEvent.Stopping, Message = CompatCloseCodes.ServerShutdown,
                        Timestamp = Timestamps.Now(time),
                    });
                }

                await socket.CloseAndWaitAsync(status, reason, receive);
            }
            else if (await receive is { } refusal)
            {
                await socket.RefuseAsync(refusal.Status, refusal.Reason);
            }
            else
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "");
            }

            socket.Stop();
            if (!receive.IsCompleted)
            {
                socket.AbortReceive();
            }

            await CompatWorkflowStream.Quietly(receive, send);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            socket.Abort();
        }
        finally
        {
            socket.Stop();
        }
    }

    private Task OnCommandAsync(CompatSocket socket, string command) => command switch
    {
        "ping" => socket.SendPongAsync(socket.Stopping),
        "stats" => socket.SendAsync(
            CompatFrames.ConnectionStats(connections.Total, connections.PerWorkflow, connections.SystemCount, Timestamps.Now(time)), socket.Stopping),
        _ => Task.CompletedTask,
    };

    private static async Task SendAsync(
        CompatSocket socket, System.Threading.Channels.ChannelReader<SystemEvent> events, IReadOnlySet<string>? types, CancellationToken cancellationToken)
    {
        await foreach (var evt in events.ReadAllAsync(cancellationToken))
        {
            if (Wants(types, evt.Type))
            {
                await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(evt, PublishedEvent.SnakeCaseJson), cancellationToken);
            }
        }
    }

    private static async Task SendQuietlyAsync(CompatSocket socket, SystemEvent evt)
    {
        try
        {
            await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(evt, PublishedEvent.SnakeCaseJson), CancellationToken.None);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // The client is gone or stopped reading: the close that follows ends the connection either way.
        }
    }

    private static bool Wants(IReadOnlySet<string>? types, string type) => types is null || types.Contains(type);

    /// <summary>
    /// <c>types</c>: absent for the documented types, <c>all</c> (null: every type) or a comma-separated list; false for
    /// a name that is not a system event type.
    /// </summary>
    internal static bool TryParseTypes(IEnumerable<string?> values, out IReadOnlySet<string>? types)
    {
        var names = values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        types = names.Count == 0 ? SystemEvent.Documented : null;
        if (names.Any(n => n != "all" && !SystemEvent.All.Contains(n)))
        {
            return false;
        }

        if (names.Count > 0 && !names.Contains("all"))
        {
            types = names.ToHashSet(StringComparer.Ordinal);
        }

        return true;
    }
}
