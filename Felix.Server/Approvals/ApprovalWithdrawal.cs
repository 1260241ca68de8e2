using Felix.Contracts;
using Felix.Server.Workflows;

namespace Felix.Server.Approvals;

/// <summary>
/// The requests still pending when their workflow ends without a decision (cancelled, or failed) are resolved
/// <c>withdrawn</c> in the same record update that ends the workflow: none stays pending past its workflow, a late
/// decision is told who withdrew it, and whoever wrote the end publishes their <c>approval_resolved</c> before the
/// workflow's terminal status. The update is conditional like every decision, so a decision and an end cannot both win.
/// </summary>
internal static class ApprovalWithdrawal
{
    /// <summary>
    /// Who a request is withdrawn by when no person ended its workflow: a failure, or a cancel from a node of an earlier
    /// version, which sent no name. Every cancel otherwise carries its principal to whichever run writes the end.
    /// </summary>
    public const string System = "system";

    /// <summary>
    /// <paramref name="ended"/> (already in its terminal status, with its <c>CompletedAt</c>) with its pending requests
    /// withdrawn by <paramref name="by"/> at that time.
    /// </summary>
    public static WorkflowRecord Withdraw(WorkflowRecord ended, string by)
    {
        var at = ended.CompletedAt ?? throw new ArgumentException("The workflow has not ended.", nameof(ended));
        var approvals = ended.Approvals;
        foreach (var pending in ended.Approvals.Where(a => a.IsPending))
        {
            approvals = approvals.Replace(pending, pending with
            {
                Decision = ApprovalDecisions.Withdrawn, DecidedBy = by, DecidedAt = at,
                Comment = $"The workflow ended {ended.Status} before a decision.",
            });
        }

        return ended with { Approvals = approvals };
    }

    /// <summary>
    /// The requests the update that ended <paramref name="ended"/> withdrew: a workflow ends once, so every withdrawn
    /// request of a finished workflow was withdrawn by its end.
    /// </summary>
    public static IEnumerable<ApprovalRecord> Withdrawn(WorkflowRecord ended) =>
        ended.Approvals.Where(a => a.Decision == ApprovalDecisions.Withdrawn);
}
