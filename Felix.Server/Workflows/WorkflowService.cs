using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Approvals;
using Felix.Server.Streaming;
using Microsoft.Extensions.Options;

namespace Felix.Server.Workflows;

/// <summary>What the REST API and the hubs do with workflows: create, read, list, cancel.</summary>
internal sealed partial class WorkflowService(
    IWorkflowStore store,
    WorkflowQueue queue,
    IWorkflowDispatcher dispatcher,
    WorkflowEngine engine,
    WorkflowEvents events,
    WorkflowRunner runner,
    SystemEventBus system,
    TimeProvider time,
    IOptions<WorkflowOptions> options,
    IOptions<ApprovalOptions> approvalOptions,
    IHostApplicationLifetime lifetime,
    ILogger<WorkflowService> logger)
{
    /// <summary>False once the server began shutting down: new workflows are refused (running ones get a grace period).</summary>
    public bool IsAccepting => !engine.IsStopping && !lifetime.ApplicationStopping.IsCancellationRequested;

    /// <summary>Creates and queues a workflow; null when the queue is full.</summary>
    public Task<WorkflowRecord?> CreateAsync(WorkflowRequest request, string owner, CancellationToken cancellationToken = default) =>
        CreateAsync(request, owner, WorkflowIds.New(), threadId: null, cancellationToken);

    /// <summary>
    /// Creates and queues a workflow under a chosen id (AG-UI derives it from the thread); null when the queue is full.
    /// Throws <see cref="InvalidOperationException"/> when a workflow with that id exists.
    /// </summary>
    public async Task<WorkflowRecord?> CreateAsync(WorkflowRequest request, string owner, string id, string? threadId, CancellationToken cancellationToken = default)
    {
        if (!queue.TryReserve(owner))
        {
            LogQueueFull(logger, queue.Capacity);
            return null;
        }

        var workflow = new WorkflowRecord
        {
            Id = id,
            ThreadId = threadId,
            Task = request.Task!,
            MaxSteps = request.MaxSteps ?? options.Value.DefaultSteps,
            ParentWorkflowId = request.ParentWorkflowId,
            EnableWebSearch = request.EnableWebSearch,
            Owner = owner,
            Approval = ApprovalPolicy.For(request.Approval, approvalOptions.Value),
            Status = WorkflowStatuses.Pending,
            CreatedAt = time.GetUtcNow(),
        };
        var stored = false;
        try
        {
            await store.CreateAsync(workflow, cancellationToken);
            stored = true;
            await system.PublishAsync(new SystemEvent
            {
                Type = SystemEvent.WorkflowCreated,
                WorkflowId = workflow.Id,
                Status = workflow.Status,
                Message = $"Workflow {workflow.Id} created",
            });
            await events.StatusChangedAsync(workflow.Id, WorkflowStatuses.Pending);
        }
        catch (Exception ex)
        {
            queue.Release(owner);
            if (stored || StorageFaults.Is(ex))
            {
                // Stored (or perhaps: only the reply was lost) but not handed on, its first event perhaps missing: the
                // client is told of the failure, yet the workflow exists, so it runs once storage answers.
                dispatcher.DispatchLater(workflow.Id);
            }

            throw;
        }

        try
        {
            await dispatcher.DispatchAsync(workflow.Id, owner, cancellationToken);
        }
        catch
        {
            // Stored but never queued: fail it now, so no client waits on a workflow that nothing will run.
            await runner.FailAsync(workflow.Id, WorkflowErrors.NotQueued, cancellationToken: CancellationToken.None);
            throw;
        }

        LogCreated(logger, workflow.Id, workflow.MaxSteps);
        return workflow;
    }

    /// <summary>
    /// The validation error of a request whose <c>parent_workflow_id</c> names no workflow <paramref name="owner"/> may see
    /// (null owner: any); null when it names none or one that exists. Another tenant's workflow reads as missing, so the
    /// answer says nothing of what other tenants have.
    /// </summary>
    public async Task<IDictionary<string, string[]>?> CheckParentAsync(
        WorkflowRequest request, string? owner, string field = "parent_workflow_id", CancellationToken cancellationToken = default)
    {
        if (request.ParentWorkflowId is not { } parent || await GetAsync(parent, owner, cancellationToken) is not null)
        {
            return null;
        }

        return new Dictionary<string, string[]>
        {
            [field] = [$"parent_workflow_id names no workflow of yours ('{Platform.SafeText.Escape(parent)}')."],
        };
    }

    /// <summary>The workflow when it exists and <paramref name="owner"/> may see it (null owner: any).</summary>
    public async Task<WorkflowRecord?> GetAsync(string id, string? owner, CancellationToken cancellationToken = default)
    {
        var workflow = await store.GetAsync(id, cancellationToken);
        return workflow is not null && (owner is null || workflow.Owner == owner) ? workflow : null;
    }

    public Task<(IReadOnlyList<WorkflowRecord> Items, int Total)> ListAsync(string? status, string? owner, int page, int pageSize, CancellationToken cancellationToken = default) =>
        store.ListAsync(status, owner, page, pageSize, cancellationToken);

    /// <summary>
    /// Cancels a pending, running or waiting workflow and waits (boundedly) until its work has stopped. A request still
    /// waiting for approval is withdrawn by <paramref name="cancelledBy"/> (the principal that cancelled, or whose AG-UI
    /// run asked to cancel when it disconnected) in the update that cancels, whether this node writes it or the run does
    /// (here or on another node), and its <c>approval_resolved</c> is published before the <c>cancelled</c> status.
    /// </summary>
    public async Task<CancelOutcome> CancelAsync(string id, string? owner, string cancelledBy, CancellationToken cancellationToken = default)
    {
        var workflow = await GetAsync(id, owner, cancellationToken);
        if (workflow is null)
        {
            return new CancelOutcome(CancelResult.NotFound, null);
        }

        // Nothing runs a pending workflow yet, nor one parked at an approval (its run ended when it parked): cancelled here.
        var cancelledWhileWaiting = await store.UpdateAsync(id, w => w.Status is WorkflowStatuses.Pending or WorkflowStatuses.AwaitingApproval
            ? Cancelled(w, cancelledBy)
            : null, cancellationToken);
        if (cancelledWhileWaiting is not null)
        {
            await PublishCancelledAsync(cancelledWhileWaiting);
            return new CancelOutcome(CancelResult.Cancelled, cancelledWhileWaiting);
        }

        if ((engine.TryCancel(id, cancelledBy) ?? dispatcher.CancelElsewhere(id, cancelledBy)) is { } stopped)
        {
            try
            {
                await stopped.WaitAsync(options.Value.CancelWait, time, cancellationToken);
            }
            catch (TimeoutException)
            {
                LogCancelSlow(logger, id, options.Value.CancelWait);
            }
        }

        // Nobody stopped it: its node is gone or frozen (its lease not yet expired), or too slow. The cancel is final
        // anyway: the cancelled status ends the stream, so the event log refuses whatever that run still writes, and a
        // finished workflow is never taken over.
        if (await store.UpdateAsync(id, w => WorkflowStatuses.IsTerminal(w.Status)
            ? null
            : Cancelled(w, cancelledBy), cancellationToken) is { } forced)
        {
            await PublishCancelledAsync(forced);
            return new CancelOutcome(CancelResult.Cancelled, forced);
        }

        var now = await store.GetAsync(id, cancellationToken);
        return now?.Status == WorkflowStatuses.Cancelled
            ? new CancelOutcome(CancelResult.Cancelled, now)
            : new CancelOutcome(CancelResult.AlreadyFinished, now);
    }

    private WorkflowRecord Cancelled(WorkflowRecord workflow, string cancelledBy) =>
        ApprovalWithdrawal.Withdraw(workflow with { Status = WorkflowStatuses.Cancelled, CompletedAt = time.GetUtcNow() }, cancelledBy);

    private async Task PublishCancelledAsync(WorkflowRecord cancelled)
    {
        events.CountWithdrawals(cancelled);
        foreach (var withdrawn in ApprovalWithdrawal.Withdrawn(cancelled))
        {
            await events.ApprovalResolvedAsync(cancelled.Id, withdrawn);
        }

        await events.StatusChangedAsync(cancelled.Id, WorkflowStatuses.Cancelled);
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Workflow {WorkflowId} created with up to {MaxSteps} agents")]
    private static partial void LogCreated(ILogger logger, string workflowId, int maxSteps);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} did not stop within {Wait} of its cancel")]
    private static partial void LogCancelSlow(ILogger logger, string workflowId, TimeSpan wait);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "Workflow refused: the queue is full ({Capacity}) or its tenant has its share waiting")]
    private static partial void LogQueueFull(ILogger logger, int capacity);
}

internal enum CancelResult
{
    Cancelled,
    NotFound,
    AlreadyFinished,
}

internal sealed record CancelOutcome(CancelResult Result, WorkflowRecord? Workflow);

internal static class WorkflowIds
{
    public static string New() => "wf_" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray(), 0, 8);
}
