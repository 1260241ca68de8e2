using MessagePack;

namespace Felix.Contracts.Events;

/// <summary><c>approval_resolved</c>: the decision that settled an approval request; the workflow acts on it next.</summary>
[MessagePackObject]
public sealed class ApprovalResolvedEvent() : WorkflowEvent(EventTypes.ApprovalResolved)
{
    /// <summary>The request this resolves.</summary>
    [Key("approvalId")]
    public string ApprovalId { get; set; } = "";

    /// <summary><c>approve</c>, <c>reject</c> or <c>revise</c>; <c>withdrawn</c> when the workflow ended before a decision.</summary>
    [Key("decision")]
    public string Decision { get; set; } = "";

    /// <summary>The decider's remark: for a revision, what the step is asked to change.</summary>
    [Key("comment")]
    public string? Comment { get; set; }

    /// <summary>
    /// Who decided (the credential's name), or <c>deadline</c> when the request timed out; for <c>withdrawn</c>, who cancelled
    /// the workflow, or <c>system</c> when it ended otherwise.
    /// </summary>
    [Key("decidedBy")]
    public string DecidedBy { get; set; } = "";
}
