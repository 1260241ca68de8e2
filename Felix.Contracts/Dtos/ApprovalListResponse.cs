namespace Felix.Contracts.Dtos;

/// <summary>The answer of <c>GET /api/v1/workflows/{id}/approvals</c>: every request of the workflow, oldest first.</summary>
public sealed class ApprovalListResponse
{
    /// <summary>The workflow.</summary>
    public string WorkflowId { get; set; } = "";

    /// <summary>Its approval requests, pending and resolved.</summary>
    public IReadOnlyList<ApprovalInfo> Approvals { get; set; } = [];
}
