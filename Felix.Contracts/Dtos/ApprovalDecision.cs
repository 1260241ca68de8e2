using MessagePack;

namespace Felix.Contracts.Dtos;

/// <summary>
/// A person's decision on an approval request: the body of <c>POST /api/v1/workflows/{id}/approvals/{approval_id}</c>
/// and the argument of <see cref="IWorkflowHub.DecideApproval"/>.
/// </summary>
[MessagePackObject]
public sealed class ApprovalDecision
{
    /// <summary><c>approve</c>, <c>reject</c> or <c>revise</c> (see <see cref="ApprovalDecisions"/>).</summary>
    [Key("decision")]
    public string? Decision { get; set; }

    /// <summary>Why, up to 2,000 characters; required for <c>revise</c>, where it is added to the step's prompt.</summary>
    [Key("comment")]
    public string? Comment { get; set; }
}
