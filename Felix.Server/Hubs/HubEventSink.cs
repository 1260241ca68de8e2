using System.Collections.Frozen;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Observability;
using Felix.Server.Streaming;
using Microsoft.AspNetCore.SignalR;

namespace Felix.Server.Hubs;

/// <summary>
/// Hands every workflow event to the workflow's group: serialised once per protocol, written to each member. On a
/// single node through <see cref="GroupSendCoalescer"/>; with the Redis backplane as a SignalR group send.
/// </summary>
/// <remarks>
/// Through the backplane (the coalescer's own rules are on <see cref="GroupSendCoalescer"/>), each event is one group
/// send, started in sequence order and not awaited, so a member that stops reading never holds up the publisher or the
/// other members; SignalR writes to each connection in the order the sends were started. Each send carries a
/// deadline of <see cref="StreamingOptions.SlowConsumerTimeout"/>: a member whose write is still blocked then has its
/// connection aborted by SignalR, and may reconnect and resume from its last sequence. That deadline is why this uses
/// <see cref="IClientProxy.SendCoreAsync(string, object?[], CancellationToken)"/> (typed client proxies cannot carry a
/// token); the method names still come from <see cref="IWorkflowClient"/>.
/// </remarks>
internal sealed partial class HubEventSink(
    IHubContext<WorkflowHub> hub,
    SharedDeadline deadline,
    FelixMetrics metrics,
    ILogger<HubEventSink> logger,
    GroupSendCoalescer? coalescer = null) : IEventSink
{
    private static readonly FrozenDictionary<Type, string> Methods = new Dictionary<Type, string>
    {
        [typeof(WorkflowStatusEvent)] = nameof(IWorkflowClient.WorkflowStatus),
        [typeof(AgentSpawnedEvent)] = nameof(IWorkflowClient.AgentSpawned),
        [typeof(AgentOutputEvent)] = nameof(IWorkflowClient.AgentOutput),
        [typeof(AgentOutputDeltaEvent)] = nameof(IWorkflowClient.AgentOutputDelta),
        [typeof(AgentReasoningDeltaEvent)] = nameof(IWorkflowClient.AgentReasoningDelta),
        [typeof(AgentCompletedEvent)] = nameof(IWorkflowClient.AgentCompleted),
        [typeof(SynthesisStartedEvent)] = nameof(IWorkflowClient.SynthesisStarted),
        [typeof(WorkflowProgressEvent)] = nameof(IWorkflowClient.WorkflowProgress),
        [typeof(WorkflowCompleteEvent)] = nameof(IWorkflowClient.WorkflowComplete),
        [typeof(WorkflowErrorEvent)] = nameof(IWorkflowClient.WorkflowError),
        [typeof(ApprovalRequestedEvent)] = nameof(IWorkflowClient.ApprovalRequested),
        [typeof(ApprovalResolvedEvent)] = nameof(IWorkflowClient.ApprovalResolved),
    }.ToFrozenDictionary();

    /// <summary>The client method that receives events of <paramref name="eventType"/>.</summary>
    public static string MethodFor(Type eventType) => Methods[eventType];

    public ValueTask DeliverAsync(PublishedEvent evt, CancellationToken cancellationToken)
    {
        var workflowEvent = evt.Event;
        if (coalescer is not null)
        {
            metrics.Delivered("signalr");
            return coalescer.SendAsync(WorkflowGroups.For(workflowEvent.WorkflowId), MethodFor(workflowEvent.GetType()), workflowEvent);
        }

        DeadlineSend.Start(
            hub.Clients.Group(WorkflowGroups.For(workflowEvent.WorkflowId)),
            MethodFor(workflowEvent.GetType()),
            workflowEvent,
            deadline,
            ex =>
            {
                // SignalR has already aborted the connections that could not take the event.
                metrics.Dropped("signalr", ex is OperationCanceledException ? "slow_consumer" : "transport_failed");
                LogSendFailed(logger, ex, workflowEvent.WorkflowId, workflowEvent.Sequence);
            });
        metrics.Delivered("signalr");
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Hub clients of workflow {WorkflowId} missed event {Sequence}: slow or failed connections were dropped")]
    private static partial void LogSendFailed(ILogger logger, Exception exception, string workflowId, long sequence);
}
