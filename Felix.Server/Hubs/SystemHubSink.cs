using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Observability;
using Felix.Server.Streaming;
using Microsoft.AspNetCore.SignalR;

namespace Felix.Server.Hubs;

/// <summary>
/// Hands system events to every system hub client the way <see cref="HubEventSink"/> does for workflows: started, not
/// awaited, with a deadline after which SignalR drops a client that cannot take the event. System events are raised
/// from the engine and from <c>POST</c>, so a stalled admin dashboard must never hold them up.
/// </summary>
internal sealed partial class SystemHubSink(
    IHubContext<SystemHub> hub,
    SharedDeadline deadline,
    FelixMetrics metrics,
    ILogger<SystemHubSink> logger) : ISystemEventSink
{
    public ValueTask DeliverAsync(SystemEvent evt)
    {
        DeadlineSend.Start(hub.Clients.All, nameof(ISystemClient.SystemEvent), evt, deadline, ex =>
        {
            metrics.Dropped("signalr", ex is OperationCanceledException ? "slow_consumer" : "transport_failed");
            LogSendFailed(logger, ex);
        });
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "System hub clients missed a system event: slow or failed connections were dropped")]
    private static partial void LogSendFailed(ILogger logger, Exception exception);
}
