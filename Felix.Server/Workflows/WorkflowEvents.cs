using Felix.Contracts.Events;
using Felix.Server.Approvals;
using Felix.Server.Observability;
using Felix.Server.Streaming;

namespace Felix.Server.Workflows;

/// <summary>Status changes and approval resolutions go to the workflow's stream and to the system stream together.</summary>
internal sealed class WorkflowEvents(EventPublisher publisher, SystemEventBus system, FelixMetrics metrics)
{
    /// <summary>Publishes a status change; <paramref name="fence"/> is the writing run's fencing token (0 outside a run).</summary>
    public async Task StatusChangedAsync(string workflowId, string status, long fence = 0, string? reason = null)
    {
        await publisher.PublishAsync(new WorkflowStatusEvent { WorkflowId = workflowId, Status = status, Reason = reason }, fence);
        metrics.WorkflowStatus(status);
        await system.PublishAsync(new SystemEvent
        {
            Type = SystemEvent.WorkflowStatusChanged,
            WorkflowId = workflowId,
            Status = status,
            Message = reason is null ? $"Workflow {workflowId} is {status}" : $"Workflow {workflowId} is {status}: {reason}",
        });
    }

    /// <summary>
    /// Counts the requests the end of <paramref name="ended"/> withdrew (see <see cref="ApprovalWithdrawal"/>), once, by
    /// whoever wrote that end: withdrawals are resolutions like decisions, and the metric shows them with their decision.
    /// </summary>
    public void CountWithdrawals(WorkflowRecord ended)
    {
        foreach (var withdrawn in ApprovalWithdrawal.Withdrawn(ended))
        {
            metrics.ApprovalDecided(withdrawn.Decision!, ApprovalService.DeciderKind(withdrawn.DecidedBy!), withdrawn.DecidedAt!.Value - withdrawn.RequestedAt);
        }
    }

    /// <summary>Publishes the resolution of <paramref name="approval"/>; <paramref name="fence"/> as for a status change.</summary>
    public async Task ApprovalResolvedAsync(string workflowId, ApprovalRecord approval, long fence = 0, CancellationToken cancellationToken = default)
    {
        await publisher.PublishAsync(new ApprovalResolvedEvent
        {
            WorkflowId = workflowId, ApprovalId = approval.Id, Decision = approval.Decision!, Comment = approval.Comment,
            DecidedBy = approval.DecidedBy ?? "",
        }, fence, cancellationToken);
        await system.PublishAsync(new SystemEvent
        {
            Type = SystemEvent.ApprovalResolved, WorkflowId = workflowId, AgentId = approval.AgentId, ApprovalId = approval.Id,
            Message = $"Approval {approval.Id} of workflow {workflowId}: {approval.Decision} by {approval.DecidedBy}",
        });
    }
}
