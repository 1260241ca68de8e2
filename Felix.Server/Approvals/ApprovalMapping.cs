using Felix.Contracts.Dtos;
using Felix.Server.Streaming;

namespace Felix.Server.Approvals;

internal static class ApprovalMapping
{
    public static ApprovalInfo ToInfo(this ApprovalRecord approval, string workflowId) => new()
    {
        ApprovalId = approval.Id,
        WorkflowId = workflowId,
        Kind = approval.Kind,
        AgentId = approval.AgentId,
        Content = approval.Content,
        Confidence = approval.Confidence,
        Status = approval.IsPending ? ApprovalInfo.Pending : ApprovalInfo.Resolved,
        RequestedAt = Timestamps.Format(approval.RequestedAt),
        ExpiresAt = Timestamps.Format(approval.ExpiresAt),
        Decision = approval.Decision,
        Comment = approval.Comment,
        DecidedBy = approval.DecidedBy,
        DecidedAt = approval.DecidedAt is { } at ? Timestamps.Format(at) : null,
    };

    /// <summary>What a losing decider is told: the decision that won, and whose it was.</summary>
    public static string Describe(this ApprovalRecord won) =>
        $"Approval '{won.Id}' was already decided: {won.Decision} by {won.DecidedBy}.";
}
