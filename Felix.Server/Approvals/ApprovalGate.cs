using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Felix.Server.Workflows;

namespace Felix.Server.Approvals;

/// <summary>
/// Where a run stops for a decision. It records the request with the workflow, announces it, and parks: the workflow
/// becomes <c>awaiting_approval</c> and the run ends, giving back its engine slot. A decision (<see cref="ApprovalService"/>)
/// queues the workflow again, and the next run passes the same gate with the decision in hand.
/// </summary>
/// <remarks>
/// Parking is a conditional update (only while the request is undecided), and deciding is one too (only while it is
/// pending): a decision that lands before the run parked is found by the run, which goes on at once; one that lands
/// after finds the workflow parked and queues it. Either way exactly one run continues. Recording the request is
/// conditional too: only for this run's attempt of a workflow that has not ended. A workflow ended while its run was
/// slow (a cancel that stopped waiting and wrote the end itself) gets no request, and the run is refused as a stale
/// one: every request of an ended workflow is decided or withdrawn.
/// </remarks>
internal sealed partial class ApprovalGate(
    IWorkflowStore store,
    EventPublisher publisher,
    WorkflowEvents events,
    SystemEventBus system,
    TimeProvider time,
    ILogger<ApprovalGate> logger)
{
    public static readonly IReadOnlyList<string> Options = ApprovalDecisions.All;

    /// <summary>
    /// The decision on <paramref name="request"/>, or null when the run parked and must end now.
    /// </summary>
    public async Task<ApprovalRecord?> PassAsync(WorkflowRecord workflow, GateRequest request, CancellationToken cancellationToken)
    {
        long fence = workflow.Attempts;
        var policy = workflow.Approval!;
        var now = time.GetUtcNow();
        var approval = new ApprovalRecord
        {
            Id = request.Id, Kind = request.Kind, AgentId = request.AgentId, Content = request.Content, Confidence = request.Confidence,
            RequestedAt = now, ExpiresAt = now + policy.Timeout, OnTimeout = policy.OnTimeout,
        };
        var stored = await store.UpdateAsync(workflow.Id, w => w.Attempts != fence || WorkflowStatuses.IsTerminal(w.Status)
            || w.FindApproval(request.Id) is not null
            ? null
            : w with { Approvals = w.Approvals.Add(approval) }, CancellationToken.None);
        stored ??= await store.GetAsync(workflow.Id, CancellationToken.None);
        if (stored is null || stored.Attempts != fence || WorkflowStatuses.IsTerminal(stored.Status))
        {
            // Ended meanwhile (a cancel that stopped waiting for this run wrote the end itself) or taken over: nothing
            // more of this run is stored or announced.
            throw new AppendRefusedException(workflow.Id, AppendRefusal.StaleRun);
        }

        approval = stored.FindApproval(request.Id) ?? throw new AppendRefusedException(workflow.Id, AppendRefusal.StaleRun);

        if (approval.IsPending)
        {
            if (!request.Announced)
            {
                await AnnounceAsync(workflow, approval, request.Usage, fence, cancellationToken);
            }

            await events.StatusChangedAsync(workflow.Id, WorkflowStatuses.AwaitingApproval, fence);
            var parked = await store.UpdateAsync(workflow.Id, w => w.Attempts == fence && w.Status == WorkflowStatuses.Running
                && w.FindApproval(request.Id) is { IsPending: true }
                ? w with { Status = WorkflowStatuses.AwaitingApproval }
                : null, CancellationToken.None);
            if (parked is not null)
            {
                LogParked(logger, workflow.Id, approval.Id, approval.ExpiresAt);
                return null;
            }

            // Decided while it was being announced: this run goes on with the decision.
            approval = (await store.GetAsync(workflow.Id, CancellationToken.None))?.FindApproval(request.Id);
            if (approval is null || approval.IsPending)
            {
                throw new AppendRefusedException(workflow.Id, AppendRefusal.StaleRun);
            }

            // A rejection ends the run: its stream goes from awaiting_approval to the resolution and the cancelled status.
            if (approval.Decision != ApprovalDecisions.Reject)
            {
                await events.StatusChangedAsync(workflow.Id, WorkflowStatuses.Running, fence);
            }
        }

        if (!request.Resolved)
        {
            await events.ApprovalResolvedAsync(workflow.Id, approval, fence, cancellationToken);
        }

        return approval;
    }

    private async Task AnnounceAsync(WorkflowRecord workflow, ApprovalRecord approval, WorkflowUsage? usage, long fence, CancellationToken cancellationToken)
    {
        await publisher.PublishAsync(new ApprovalRequestedEvent
        {
            WorkflowId = workflow.Id, ApprovalId = approval.Id, Kind = approval.Kind, AgentId = approval.AgentId,
            Content = approval.Content, Confidence = approval.Confidence, Options = Options,
            ExpiresAt = Timestamps.Format(approval.ExpiresAt), Usage = usage,
        }, fence, cancellationToken);
        await system.PublishAsync(new SystemEvent
        {
            Type = SystemEvent.ApprovalRequested, WorkflowId = workflow.Id, AgentId = approval.AgentId, ApprovalId = approval.Id,
            Status = WorkflowStatuses.AwaitingApproval,
            Message = $"Workflow {workflow.Id} waits for approval {approval.Id}",
        });
    }

    [LoggerMessage(EventId = 8101, Level = LogLevel.Information, Message = "Workflow {WorkflowId} waits for approval {ApprovalId} until {ExpiresAt}")]
    private static partial void LogParked(ILogger logger, string workflowId, string approvalId, DateTimeOffset expiresAt);
}

/// <summary>
/// What a run asks to have approved. <see cref="Announced"/> and <see cref="Resolved"/>: the history already has the
/// request's <c>approval_requested</c>, and its <c>approval_resolved</c> (a run resumed after them): neither is sent twice.
/// </summary>
/// <param name="Usage">The usage of the model call that wrote a synthesis: its request is where the history keeps it.</param>
internal sealed record GateRequest(
    string Id, string Kind, string? AgentId, string Content, double Confidence, bool Announced = false, bool Resolved = false,
    WorkflowUsage? Usage = null);
