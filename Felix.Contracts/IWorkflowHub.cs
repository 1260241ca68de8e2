using Felix.Contracts.Dtos;
using Felix.Contracts.Events;

namespace Felix.Contracts;

/// <summary>
/// The methods clients invoke on the workflow hub at <see cref="HubPaths.Workflows"/>. Clients use
/// <c>nameof(IWorkflowHub.Subscribe)</c> and friends as method names rather than string literals.
/// </summary>
public interface IWorkflowHub
{
    /// <summary>
    /// Joins the workflow's group and returns its snapshot with the history after <paramref name="afterSequence"/>
    /// (all of it when null). Live events then arrive through <see cref="IWorkflowClient"/>; each carries its sequence,
    /// so a client drops what it already has.
    /// </summary>
    Task<WorkflowSubscription> Subscribe(string workflowId, long? afterSequence);

    /// <summary>Leaves the workflow's group.</summary>
    Task Unsubscribe(string workflowId);

    /// <summary>
    /// Streams the workflow's events, history then live, in order with no gap or duplicate, optionally filtered by
    /// snake_case type names; completes after the terminal event.
    /// </summary>
    IAsyncEnumerable<WorkflowEvent> StreamEvents(string workflowId, long? afterSequence, string[]? types);

    /// <summary>
    /// Like <see cref="StreamEvents"/>, with the start position and the filters by type, agent and confidence given as
    /// <paramref name="options"/>. The sequences of the events sent stay those of the whole stream, so a client resumes
    /// after the last one it saw.
    /// </summary>
    IAsyncEnumerable<WorkflowEvent> StreamEventsWithOptions(string workflowId, EventStreamOptions options);

    /// <summary>
    /// Decides an approval request of the workflow (needs the <c>felix.approve</c> scope). Returns the resolution; a
    /// request already decided fails with a message naming the decision that won.
    /// </summary>
    Task<ApprovalInfo> DecideApproval(string workflowId, string approvalId, ApprovalDecision decision);
}
