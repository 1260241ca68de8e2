using Felix.Contracts.Dtos;
using Felix.Contracts.Events;

namespace Felix.Contracts;

/// <summary>
/// The methods the workflow hub calls on its clients, one per event type. The method names are the SignalR wire names
/// and, in snake_case, the event <c>type</c> values (see <see cref="EventTypes"/>).
/// </summary>
public interface IWorkflowClient
{
    /// <summary>The workflow changed status (pending, running, completed, failed, cancelled).</summary>
    Task WorkflowStatus(WorkflowStatusEvent evt);

    /// <summary>An agent spawned on the helix.</summary>
    Task AgentSpawned(AgentSpawnedEvent evt);

    /// <summary>An agent finished its output: the whole text and its confidence.</summary>
    Task AgentOutput(AgentOutputEvent evt);

    /// <summary>A piece of an agent's output text as the model streams it.</summary>
    Task AgentOutputDelta(AgentOutputDeltaEvent evt);

    /// <summary>A piece of an agent's reasoning trace as the model streams it.</summary>
    Task AgentReasoningDelta(AgentReasoningDeltaEvent evt);

    /// <summary>An agent finished: its token usage and timings.</summary>
    Task AgentCompleted(AgentCompletedEvent evt);

    /// <summary>Synthesis over the collected agent outputs began.</summary>
    Task SynthesisStarted(SynthesisStartedEvent evt);

    /// <summary>Progress of the workflow in percent with an estimate of the time left.</summary>
    Task WorkflowProgress(WorkflowProgressEvent evt);

    /// <summary>The workflow completed with a synthesis. Terminal.</summary>
    Task WorkflowComplete(WorkflowCompleteEvent evt);

    /// <summary>The workflow failed. Terminal.</summary>
    Task WorkflowError(WorkflowErrorEvent evt);

    /// <summary>
    /// The workflow waits for a person to approve, reject or revise a step's result. Implemented as a no-op by default,
    /// so handlers written before approvals existed keep compiling.
    /// </summary>
    Task ApprovalRequested(ApprovalRequestedEvent evt) => Task.CompletedTask;

    /// <summary>An approval request was decided (or its deadline passed). A no-op by default.</summary>
    Task ApprovalResolved(ApprovalResolvedEvent evt) => Task.CompletedTask;

    /// <summary>
    /// The workflow was lost with storage (its record and history are gone): no further event will come, and subscribing
    /// again answers that it is not found. Not an event of the stream (it has no sequence). A no-op by default.
    /// </summary>
    Task WorkflowLost(WorkflowLostNotice notice) => Task.CompletedTask;
}
