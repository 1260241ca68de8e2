namespace Felix.Server.Approvals;

/// <summary>A person (or the deadline) rejected a step: the run ends and the workflow is cancelled with <see cref="Reason"/>.</summary>
internal sealed class ApprovalRejectedException(string approvalId, string decidedBy, string? comment)
    : Exception($"Approval {approvalId} was rejected by {decidedBy}.")
{
    public string ApprovalId { get; } = approvalId;

    /// <summary>Who rejected it and why, as the final <c>workflow_status</c> says it.</summary>
    public string Reason { get; } = ReasonFor(approvalId, decidedBy, comment);

    /// <summary>The reason a workflow ended by the rejection of <paramref name="approvalId"/> gives, wherever it ends.</summary>
    public static string ReasonFor(string approvalId, string decidedBy, string? comment) => string.IsNullOrWhiteSpace(comment)
        ? $"Rejected by {decidedBy} at {approvalId}."
        : $"Rejected by {decidedBy} at {approvalId}: {comment}";
}
