using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Observability;
using Felix.Server.Streaming;
using Microsoft.AspNetCore.SignalR;

namespace Felix.Server.Hubs;

/// <summary>Hands every workflow event to the workflow's group through the typed hub context.</summary>
internal sealed class HubEventSink(IHubContext<WorkflowHub, IWorkflowClient> hub, FelixMetrics metrics) : IEventSink
{
    public ValueTask DeliverAsync(PublishedEvent evt, CancellationToken cancellationToken)
    {
        var group = hub.Clients.Group(WorkflowGroups.For(evt.Event.WorkflowId));
        metrics.Delivered("signalr");
        return new ValueTask(evt.Event switch
        {
            WorkflowStatusEvent e => group.WorkflowStatus(e),
            AgentSpawnedEvent e => group.AgentSpawned(e),
            AgentOutputEvent e => group.AgentOutput(e),
            AgentOutputDeltaEvent e => group.AgentOutputDelta(e),
            AgentReasoningDeltaEvent e => group.AgentReasoningDelta(e),
            AgentCompletedEvent e => group.AgentCompleted(e),
            SynthesisStartedEvent e => group.SynthesisStarted(e),
            WorkflowProgressEvent e => group.WorkflowProgress(e),
            WorkflowCompleteEvent e => group.WorkflowComplete(e),
            WorkflowErrorEvent e => group.WorkflowError(e),
            _ => throw new InvalidOperationException($"No hub method for event type {evt.Event.Type}."),
        });
    }
}
