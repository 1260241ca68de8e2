using System.Collections.Frozen;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Streaming;

namespace Felix.Server.Hubs;

/// <summary>
/// Hands every workflow event the fan-out delivers on this node to the workflow's group here, through
/// <see cref="GroupSendCoalescer"/> (which serialises once per protocol and writes to each member with a deadline). The
/// method names come from <see cref="IWorkflowClient"/>.
/// </summary>
internal sealed class HubEventSink(GroupSendCoalescer coalescer) : IEventSink
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
        return coalescer.SendAsync(WorkflowGroups.For(workflowEvent.WorkflowId), MethodFor(workflowEvent.GetType()), workflowEvent);
    }

    public ValueTask LoseAsync(string workflowId, string epoch) => coalescer.SendNoticeAsync(
        WorkflowGroups.For(workflowId),
        nameof(IWorkflowClient.WorkflowLost),
        new WorkflowLostNotice { WorkflowId = workflowId, Epoch = epoch, Message = new StreamLostException(workflowId).Message },
        workflowId);
}
