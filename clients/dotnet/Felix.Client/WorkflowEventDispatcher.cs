using Felix.Contracts;
using Felix.Contracts.Events;

namespace Felix.Client;

/// <summary>Calls the <see cref="IWorkflowClient"/> method that matches an event, as the hub would.</summary>
public static class WorkflowEventDispatcher
{
    /// <summary>Calls <paramref name="handler"/>'s method for <paramref name="evt"/>; an event type this library does not know is skipped.</summary>
    public static Task DispatchAsync(IWorkflowClient handler, WorkflowEvent evt)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(evt);
        return evt switch
        {
            WorkflowStatusEvent e => handler.WorkflowStatus(e),
            AgentSpawnedEvent e => handler.AgentSpawned(e),
            AgentOutputEvent e => handler.AgentOutput(e),
            AgentOutputDeltaEvent e => handler.AgentOutputDelta(e),
            AgentReasoningDeltaEvent e => handler.AgentReasoningDelta(e),
            AgentCompletedEvent e => handler.AgentCompleted(e),
            SynthesisStartedEvent e => handler.SynthesisStarted(e),
            WorkflowProgressEvent e => handler.WorkflowProgress(e),
            WorkflowCompleteEvent e => handler.WorkflowComplete(e),
            WorkflowErrorEvent e => handler.WorkflowError(e),
            ApprovalRequestedEvent e => handler.ApprovalRequested(e),
            ApprovalResolvedEvent e => handler.ApprovalResolved(e),
            _ => Task.CompletedTask,
        };
    }
}
