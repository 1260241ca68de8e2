using System.Net.Http.Json;
using Felix.Contracts;
using Felix.Contracts.Dtos;

namespace Felix.Client;

public sealed partial class FelixClient
{
    /// <summary>A workflow's approval requests, oldest first (<c>GET /api/v1/workflows/{id}/approvals</c>).</summary>
    public async Task<ApprovalListResponse> ListApprovalsAsync(string workflowId, CancellationToken cancellationToken = default)
    {
        using var message = CreateRequest(HttpMethod.Get, WorkflowPath(workflowId) + "/approvals");
        return await SendAsync<ApprovalListResponse>(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Decides an approval request (<c>POST /api/v1/workflows/{id}/approvals/{approval_id}</c>; needs the
    /// <c>felix.approve</c> scope) and returns the resolution. A request already decided is thrown as
    /// <see cref="FelixApiException"/> with status 409, whose detail names the decision that won.
    /// </summary>
    public async Task<ApprovalInfo> DecideApprovalAsync(
        string workflowId, string approvalId, string decision, string? comment = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(approvalId);
        using var message = CreateRequest(HttpMethod.Post, WorkflowPath(workflowId) + "/approvals/" + Uri.EscapeDataString(approvalId));
        message.Content = JsonContent.Create(new ApprovalDecision { Decision = decision, Comment = comment }, options: RestJson);
        return await SendAsync<ApprovalInfo>(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Approves a waiting step: the workflow goes on.</summary>
    public Task<ApprovalInfo> ApproveAsync(string workflowId, string approvalId, string? comment = null, CancellationToken cancellationToken = default) =>
        DecideApprovalAsync(workflowId, approvalId, ApprovalDecisions.Approve, comment, cancellationToken);

    /// <summary>Rejects a waiting step: the workflow ends cancelled, with <paramref name="comment"/> as the reason.</summary>
    public Task<ApprovalInfo> RejectAsync(string workflowId, string approvalId, string? comment = null, CancellationToken cancellationToken = default) =>
        DecideApprovalAsync(workflowId, approvalId, ApprovalDecisions.Reject, comment, cancellationToken);

    /// <summary>Sends a waiting step back: it runs again with <paramref name="comment"/> added to its prompt.</summary>
    public Task<ApprovalInfo> ReviseAsync(string workflowId, string approvalId, string comment, CancellationToken cancellationToken = default) =>
        DecideApprovalAsync(workflowId, approvalId, ApprovalDecisions.Revise, comment, cancellationToken);
}
