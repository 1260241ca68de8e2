using Felix.Contracts;
using Felix.Server.Observability;
using Felix.Server.Workflows;
using Microsoft.Extensions.Options;

namespace Felix.Server.Approvals;

/// <summary>
/// Decides approval requests, for the REST API, the hub and the deadline alike. A decision is one conditional update
/// of the workflow's record: the first one wins, any later one is told which decision won. A workflow that had parked
/// is queued again, on whichever node takes it, and its next run acts on the decision; unless the decision rejects, which
/// ends the parked workflow in the same update (cancelled, with the reason).
/// </summary>
internal sealed partial class ApprovalService(
    IWorkflowStore store,
    WorkflowQueue queue,
    IWorkflowDispatcher dispatcher,
    HelixWorkflow helix,
    WorkflowEvents events,
    TimeProvider time,
    FelixMetrics metrics,
    IOptions<ApprovalOptions> options,
    ILogger<ApprovalService> logger)
{
    /// <summary>The name a decision taken by the deadline is recorded under.</summary>
    public const string Deadline = "deadline";

    /// <summary>The workflow's approval requests, when it exists and <paramref name="owner"/> may see it (null owner: any).</summary>
    public async Task<WorkflowRecord?> GetAsync(string workflowId, string? owner, CancellationToken cancellationToken = default)
    {
        var workflow = await store.GetAsync(workflowId, cancellationToken);
        return workflow is not null && (owner is null || workflow.Owner == owner) ? workflow : null;
    }

    public async Task<DecideOutcome> DecideAsync(
        string workflowId, string approvalId, string decision, string? comment, string decidedBy, string? owner,
        CancellationToken cancellationToken = default)
    {
        if (await GetAsync(workflowId, owner, cancellationToken) is not { } workflow)
        {
            return new DecideOutcome(DecideResult.WorkflowNotFound, null, null);
        }

        while (true)
        {
            var now = time.GetUtcNow();
            // A rejection ends a parked workflow here, keeping what its history says it spent: no run starts only to end it,
            // so its stream goes from awaiting_approval to the resolution and its end.
            var spent = decision == ApprovalDecisions.Reject && workflow.Status == WorkflowStatuses.AwaitingApproval
                ? await helix.ReadUsageAsync(workflow, cancellationToken)
                : null;
            var resumes = false;
            var ends = false;
            var parkedSinceRead = false;
            ApprovalRecord? overLimit = null;
            var decided = await DecideInStoreAsync(workflowId, w =>
            {
                resumes = w.Status == WorkflowStatuses.AwaitingApproval;
                ends = resumes && decision == ApprovalDecisions.Reject;
                var check = Check(w, approvalId, decision);
                overLimit = check == DecideResult.RevisionLimitReached ? w.FindApproval(approvalId) : null;
                parkedSinceRead = check == DecideResult.Decided && ends && spent is null;
                if (check != DecideResult.Decided || parkedSinceRead)
                {
                    return null;
                }

                var pending = w.FindApproval(approvalId)!;
                var resolved = pending with { Decision = decision, Comment = comment, DecidedBy = decidedBy, DecidedAt = now };
                var approvals = w.Approvals.Replace(pending, resolved);
                return ends
                    ? w with
                    {
                        Approvals = approvals, Status = WorkflowStatuses.Cancelled, CompletedAt = now,
                        Error = ApprovalRejectedException.ReasonFor(approvalId, decidedBy, comment),
                        Usage = spent!.LlmCalls > 0 ? spent : w.Usage,
                    }
                    : w with
                    {
                        Approvals = approvals,
                        Status = resumes ? WorkflowStatuses.Running : w.Status,
                        ApprovalResumes = w.ApprovalResumes + (resumes ? 1 : 0),
                    };
            }, cancellationToken);

            if (parkedSinceRead)
            {
                // The run parked after the workflow was read: its history is complete now, so it is read again.
                workflow = await store.GetAsync(workflowId, cancellationToken) ?? workflow;
                continue;
            }

            if (overLimit is not null)
            {
                return new DecideOutcome(DecideResult.RevisionLimitReached, null, overLimit);
            }

            if (decided is null)
            {
                var current = await store.GetAsync(workflowId, cancellationToken);
                return current?.FindApproval(approvalId) switch
                {
                    null => new DecideOutcome(DecideResult.ApprovalNotFound, current, null),
                    { IsPending: true } open => new DecideOutcome(DecideResult.WorkflowFinished, current, open),
                    var won => new DecideOutcome(DecideResult.AlreadyDecided, current, won),
                };
            }

            var approval = decided.FindApproval(approvalId)!;
            metrics.ApprovalDecided(decision, DeciderKind(decidedBy), now - approval.RequestedAt);
            LogDecided(logger, workflowId, approvalId, decision, decidedBy);
            if (ends)
            {
                await EndRejectedAsync(decided, approval);
            }
            else if (resumes)
            {
                await ResumeAsync(decided);
            }

            return new DecideOutcome(DecideResult.Decided, decided, approval);
        }
    }

    /// <summary>
    /// The decision's conditional update. When storage fails on the way, the update may have been stored all the same
    /// (only its reply lost), letting a parked workflow go on with nobody to queue it: the dispatcher is asked to queue
    /// it once storage answers, which it does only if the workflow is running and still held by this node.
    /// </summary>
    private async Task<WorkflowRecord?> DecideInStoreAsync(string workflowId, Func<WorkflowRecord, WorkflowRecord?> update, CancellationToken cancellationToken)
    {
        try
        {
            return await store.UpdateAsync(workflowId, update, cancellationToken);
        }
        catch (Exception ex) when (StorageFaults.Is(ex))
        {
            dispatcher.DispatchLater(workflowId);
            throw;
        }
    }

    /// <summary>
    /// Publishes the end of a parked workflow its rejection cancelled: the resolution, then the <c>cancelled</c> status
    /// with the reason, as the run would have. Nothing runs it, so nothing else writes its stream.
    /// </summary>
    private async Task EndRejectedAsync(WorkflowRecord cancelled, ApprovalRecord rejection)
    {
        await events.ApprovalResolvedAsync(cancelled.Id, rejection);
        await events.StatusChangedAsync(cancelled.Id, WorkflowStatuses.Cancelled, reason: cancelled.Error);
        LogRejected(logger, cancelled.Id, rejection.Id);
    }

    /// <summary>Queues a parked workflow that a decision lets go on; its next run (on any node) acts on the decision.</summary>
    private async Task ResumeAsync(WorkflowRecord decided)
    {
        // Accepted work: it had its slot before it parked, so a full queue does not refuse it now.
        queue.ReserveAccepted(decided.Owner);
        try
        {
            await dispatcher.DispatchAsync(decided.Id, decided.Owner, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // Recorded as running and held by this node: queued once storage answers (scale-out; the dispatcher took it
            // in charge), or by recovery at the next start (one process).
            LogResumeNotQueued(logger, ex, decided.Id);
        }
    }

    /// <summary>
    /// Who decided, as the <c>felix.approvals.decided</c> metric tags it: <c>deadline</c>, <c>system</c> (a request
    /// withdrawn by an end no person caused), or <c>person</c>.
    /// </summary>
    public static string DeciderKind(string decidedBy) => decidedBy switch
    {
        Deadline => "deadline",
        ApprovalWithdrawal.System => "system",
        _ => "person",
    };

    /// <summary>
    /// Whether <paramref name="decision"/> on <paramref name="approvalId"/> would be taken on <paramref name="workflow"/> as
    /// it is: <see cref="DecideResult.Decided"/>, or why not. The rule of <see cref="DecideAsync"/>'s conditional update,
    /// for a caller that checks several decisions before it takes any (an AG-UI run's resume entries).
    /// </summary>
    public DecideResult Check(WorkflowRecord workflow, string approvalId, string decision) => workflow.FindApproval(approvalId) switch
    {
        null => DecideResult.ApprovalNotFound,
        { IsPending: false } => DecideResult.AlreadyDecided,
        _ when WorkflowStatuses.IsTerminal(workflow.Status) => DecideResult.WorkflowFinished,
        var pending when decision == ApprovalDecisions.Revise && Revisions(workflow, pending) >= options.Value.MaxRevisionsPerStep
            => DecideResult.RevisionLimitReached,
        _ => DecideResult.Decided,
    };

    /// <summary>How many times the step <paramref name="pending"/> asks about was sent back already.</summary>
    private static int Revisions(WorkflowRecord workflow, ApprovalRecord pending) =>
        workflow.Approvals.Count(a => a.Kind == pending.Kind && a.AgentId == pending.AgentId && a.Decision == ApprovalDecisions.Revise);

    /// <summary>Why a revision was refused, for every transport alike.</summary>
    public string RevisionLimitDetail(ApprovalRecord pending) =>
        $"The {(pending.AgentId is { } agent ? $"step of agent '{agent}'" : "synthesis")} was sent back {options.Value.MaxRevisionsPerStep} "
        + $"times, the most {ApprovalOptions.SectionName}:{nameof(ApprovalOptions.MaxRevisionsPerStep)} allows: approve or reject it.";

    [LoggerMessage(EventId = 8201, Level = LogLevel.Information, Message = "Approval {ApprovalId} of workflow {WorkflowId}: {Decision} by {DecidedBy}")]
    private static partial void LogDecided(ILogger logger, string workflowId, string approvalId, string decision, string decidedBy);

    [LoggerMessage(EventId = 8203, Level = LogLevel.Information, Message = "Workflow {WorkflowId} cancelled: approval {ApprovalId} was rejected while it waited")]
    private static partial void LogRejected(ILogger logger, string workflowId, string approvalId);

    [LoggerMessage(EventId = 8202, Level = LogLevel.Error, Message = "Workflow {WorkflowId} was decided but could not be queued; it is queued once storage answers (scale-out) or at the next start")]
    private static partial void LogResumeNotQueued(ILogger logger, Exception exception, string workflowId);
}

internal enum DecideResult
{
    Decided,
    WorkflowNotFound,
    ApprovalNotFound,
    AlreadyDecided,
    WorkflowFinished,

    /// <summary>A <c>revise</c> of a step sent back as often as the settings allow; the request stays open.</summary>
    RevisionLimitReached,
}

/// <summary>The outcome of a decision: the workflow as it is now, and the approval (the winning decision when it lost).</summary>
internal sealed record DecideOutcome(DecideResult Result, WorkflowRecord? Workflow, ApprovalRecord? Approval);
