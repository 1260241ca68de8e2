using Felix.Contracts.Dtos;
using MessagePack;

namespace Felix.Contracts.Events;

/// <summary>
/// <c>approval_requested</c>: the workflow waits for a person to approve, reject or revise <see cref="Content"/>. Its
/// status is <c>awaiting_approval</c> until a decision (or the deadline) resolves it with <c>approval_resolved</c>.
/// </summary>
[MessagePackObject]
public sealed class ApprovalRequestedEvent() : WorkflowEvent(EventTypes.ApprovalRequested)
{
    /// <summary>The request's id, unique within the workflow: decide with it.</summary>
    [Key("approvalId")]
    public string ApprovalId { get; set; } = "";

    /// <summary><c>agent_output</c> or <c>synthesis</c> (see <see cref="ApprovalDecisions"/>).</summary>
    [Key("kind")]
    public string Kind { get; set; } = "";

    /// <summary>The agent whose output waits; absent for the synthesis.</summary>
    [Key("agentId")]
    public string? AgentId { get; set; }

    /// <summary>What is to be approved: the agent's output or the synthesis.</summary>
    [Key("content")]
    public string Content { get; set; } = "";

    /// <summary>The confidence stated with the content, in [0, 1].</summary>
    [Key("confidence")]
    public double Confidence { get; set; }

    /// <summary>The decisions that may be taken (<c>approve</c>, <c>reject</c>, <c>revise</c>).</summary>
    [Key("options")]
    public IReadOnlyList<string> Options { get; set; } = [];

    /// <summary>When the default outcome is taken if nobody decided: ISO-8601 UTC.</summary>
    [Key("expiresAt")]
    public string ExpiresAt { get; set; } = "";

    /// <summary>
    /// For a synthesis, the model usage of the call that wrote <see cref="Content"/>, so that the run that continues after
    /// the decision counts it in the workflow's usage. Absent for an agent's output (its <c>agent_completed</c> has it).
    /// </summary>
    [Key("usage")]
    public WorkflowUsage? Usage { get; set; }
}
