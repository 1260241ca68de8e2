using System.Diagnostics;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Agents;
using Felix.Server.Approvals;
using Felix.Server.Observability;
using Felix.Server.Streaming;
using Polly;
using Polly.Retry;

namespace Felix.Server.Workflows;

/// <summary>Runs one workflow: status changes, the agents' work, then the terminal events.</summary>
internal sealed partial class WorkflowRunner(
    IWorkflowStore store,
    IEventLog log,
    EventPublisher publisher,
    WorkflowEvents events,
    HelixWorkflow helix,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    Microsoft.Extensions.Options.IOptions<WorkflowOptions> options,
    ILogger<WorkflowRunner> logger)
{
    /// <summary>
    /// Runs a pending workflow, or resumes a running one whose earlier run was interrupted (recovery queues those). Each
    /// start counts an attempt; past <see cref="WorkflowOptions.MaxAttempts"/> the workflow fails instead. A run that
    /// cannot write (its store is full, gone or unreachable) pauses, and resumes as a new attempt once writes succeed,
    /// for up to <see cref="WorkflowOptions.StorageOutageLimit"/>; such attempts do not count towards the limit.
    /// The run is one root span, its attempts and the pauses between them included, so however it ends (an outage
    /// too long among the ways) a failed workflow's span ends with Error and its cause.
    /// </summary>
    public async Task RunAsync(string workflowId, ActiveRun run)
    {
        var workflow = await TakeAsync(workflowId, run);
        if (workflow is null)
        {
            if (!run.Token.IsCancellationRequested)
            {
                await EndIfFinishedAsync(workflowId);
            }

            return;
        }

        using var span = WorkflowTracing.StartWorkflow(workflowId);
        while (workflow is not null)
        {
            try
            {
                await RunAttemptAsync(workflow, run, span);
                return;
            }
            catch (Exception ex) when (StorageFaults.Is(ex))
            {
                LogPausedForStorage(logger, workflow.Id, workflow.Attempts, ex.Message);
                workflow = await ResumeAfterStorageFaultAsync(workflow, run, span);
            }
        }
    }

    /// <summary>
    /// Counts this run's attempt (and marks a pending workflow running). While storage cannot be written the run waits,
    /// as a paused one does: this node was handed the workflow, so giving up here would leave it with nobody to run it.
    /// Null when the workflow is not to run (already finished, or the node stops; recovery takes it up at the next start).
    /// </summary>
    private Task<WorkflowRecord?> TakeAsync(string workflowId, ActiveRun run) => UpdateWhenWritableAsync(
        workflowId,
        w => w.Status switch
        {
            WorkflowStatuses.Pending => w with { Status = WorkflowStatuses.Running, StartedAt = time.GetUtcNow(), Attempts = w.Attempts + 1 },
            WorkflowStatuses.Running => w with { Attempts = w.Attempts + 1 },
            _ => null,
        },
        fence: 0, // no attempt of this run has written anything
        run,
        span: null,
        waitFirst: false,
        onFault: ex => LogWaitingToStart(logger, workflowId, ex.Message));

    /// <summary>
    /// Waits for writes to succeed again, then takes a new attempt for the same run (its fence refuses anything the
    /// paused attempt might still write; its deltas' attempt tells clients to drop that attempt's partial text). Null
    /// when the run ends here: the outage lasted too long (failed), or the node stops, or another attempt owns it.
    /// </summary>
    private Task<WorkflowRecord?> ResumeAfterStorageFaultAsync(WorkflowRecord paused, ActiveRun run, Activity? span) => UpdateWhenWritableAsync(
        paused.Id,
        w => w.Status == WorkflowStatuses.Running && w.Attempts == paused.Attempts
            ? w with { Attempts = w.Attempts + 1, StorageRetries = w.StorageRetries + 1 }
            : null,
        paused.Attempts,
        run,
        span,
        waitFirst: true,
        onFault: null);

    /// <summary>
    /// Applies <paramref name="update"/> once storage takes writes, trying every <see cref="StorageRetryDelay"/>. Past
    /// <see cref="WorkflowOptions.StorageOutageLimit"/> the workflow fails; stopping or cancelled meanwhile, it returns
    /// null (a cancel's end is written once storage is back: FinishAsync retries; the paused attempt
    /// <paramref name="fence"/> that a shutdown interrupts is recorded as a shutdown's, as a running one is).
    /// </summary>
    private async Task<WorkflowRecord?> UpdateWhenWritableAsync(
        string workflowId, Func<WorkflowRecord, WorkflowRecord?> update, long fence, ActiveRun run, Activity? span, bool waitFirst, Action<Exception>? onFault)
    {
        var since = time.GetTimestamp();
        var wait = waitFirst;
        while (true)
        {
            if (wait)
            {
                if (time.GetElapsedTime(since) >= options.Value.StorageOutageLimit)
                {
                    LogStorageOutageTooLong(logger, workflowId, options.Value.StorageOutageLimit);
                    // Failed before its run took it (span null), the workflow still gets a root span to show the failure.
                    using var failed = span is null ? WorkflowTracing.StartWorkflow(workflowId) : null;
                    WorkflowTracing.Failed(span ?? failed, WorkflowErrors.StorageUnavailable);
                    await FailAsync(workflowId, WorkflowErrors.StorageUnavailable, fence);
                    return null;
                }

                try
                {
                    await Task.Delay(StorageRetryDelay, time, run.Token);
                }
                catch (OperationCanceledException) when (run.Token.IsCancellationRequested)
                {
                    if (run.CancelRequested)
                    {
                        await FinishAsync(workflowId, w => w with { Status = WorkflowStatuses.Cancelled }, terminal: null, fence, withdrawnBy: run.CancelledBy);
                    }
                    else if (fence > 0)
                    {
                        // A paused attempt that the shutdown interrupts is a drained one, not a crash: recorded as
                        // such (when storage takes the write by now), its resume at the next start does not count.
                        await RecordShutdownInterruptionAsync(workflowId, fence);
                        LogLeftToResume(logger, workflowId);
                    }

                    return null;
                }
            }

            wait = true;
            var found = false;
            try
            {
                var updated = await store.UpdateAsync(workflowId, w =>
                {
                    found = true;
                    return update(w);
                });
                if (updated is null && !found)
                {
                    await EndLostAsync(workflowId);
                }

                return updated;
            }
            catch (Exception ex) when (StorageFaults.Is(ex))
            {
                onFault?.Invoke(ex);
            }
        }
    }

    /// <summary>
    /// The record of a workflow this node was running is gone: storage lost it with the history (a Redis without
    /// persistence that came back empty; no store deletes a workflow that has not finished). Nothing can be written for
    /// it any more, so this node's subscribers are told instead of being left waiting for an end that cannot come.
    /// </summary>
    private async Task EndLostAsync(string workflowId)
    {
        LogLostWithStorage(logger, workflowId);
        await publisher.EndLostAsync(workflowId);
    }

    /// <summary>Between tries while storage is down: short enough to resume promptly, long enough not to hammer it.</summary>
    private static readonly TimeSpan StorageRetryDelay = TimeSpan.FromSeconds(2);

    private async Task RunAttemptAsync(WorkflowRecord workflow, ActiveRun run, Activity? span)
    {
        var workflowId = workflow.Id;
        // This attempt's fencing token: the store and the event log refuse its writes once a newer attempt has written.
        long fence = workflow.Attempts;
        // Before the attempts are counted: a rejected workflow ends cancelled, however often its runs were cut short.
        if (workflow.Approvals.FirstOrDefault(a => a.Decision == ApprovalDecisions.Reject) is { } rejection)
        {
            await EndRejectedAsync(workflow, rejection, fence);
            return;
        }

        var interrupted = workflow.Attempts - workflow.StorageRetries - workflow.ApprovalResumes - workflow.ShutdownInterruptions;
        if (interrupted > options.Value.MaxAttempts)
        {
            LogGaveUp(logger, workflowId, interrupted - 1);
            WorkflowTracing.Failed(span, WorkflowErrors.GaveUp(interrupted - 1));
            await FailAsync(workflowId, WorkflowErrors.GaveUp(interrupted - 1), fence, await helix.ReadUsageAsync(workflow));
            return;
        }

        if (workflow.Attempts > 1)
        {
            LogResumed(logger, workflowId, workflow.Attempts);
        }

        LogStarted(logger, workflowId);
        // What this run has spent, the history's usage included: kept with the workflow when the run ends it unfinished.
        var spent = new WorkflowUsage();
        WorkflowUsage? Spent(WorkflowRecord w) => spent.LlmCalls > 0 ? spent : w.Usage;
        try
        {
            // The running status goes first: it raises the stream's fence to this attempt before the history is read
            // as the checkpoint, so an older attempt can no longer write anything the checkpoint would miss.
            await events.StatusChangedAsync(workflowId, WorkflowStatuses.Running, fence);
            if (await helix.RunAsync(workflow, spent, run.Token) is not { } outcome)
            {
                // Parked at an approval: the decision queues the workflow again.
                LogParked(logger, workflowId);
                return;
            }

            var completed = await FinishAsync(
                workflowId,
                w => w with { Status = WorkflowStatuses.Completed, Synthesis = outcome.Synthesis, Usage = outcome.Usage },
                new WorkflowCompleteEvent { WorkflowId = workflowId, Synthesis = outcome.Synthesis, Usage = outcome.Usage },
                fence);
            if (completed)
            {
                LogCompleted(logger, workflowId, outcome.Synthesis.Confidence);
            }
        }
        catch (AppendRefusedException ex) when (ex.Reason == AppendRefusal.StreamLost)
        {
            // Storage came back without the workflow between two of this run's writes, with no error the run could see.
            await EndLostAsync(workflowId);
        }
        catch (AppendRefusedException ex)
        {
            // Another attempt owns the workflow (this node was cut off past its lease), or its stream already ended:
            // this run stops at once; its model call was cancelled as the exception left it.
            LogRefused(logger, workflowId, fence, ex.Reason);
        }
        catch (ApprovalRejectedException ex)
        {
            await FinishAsync(workflowId, w => w with { Status = WorkflowStatuses.Cancelled, Error = ex.Reason, Usage = Spent(w) }, terminal: null, fence, reason: ex.Reason);
            LogRejected(logger, workflowId, ex.ApprovalId);
        }
        catch (OperationCanceledException) when (run.CancelRequested)
        {
            // A cancelled workflow's terminal event is its cancelled status.
            // Its pending request (a cancel that came between storing it and parking) is withdrawn under the canceller's name.
            await FinishAsync(workflowId, w => w with { Status = WorkflowStatuses.Cancelled, Usage = Spent(w) }, terminal: null, fence, withdrawnBy: run.CancelledBy);
            LogCancelled(logger, workflowId);
        }
        catch (OperationCanceledException) when (run.Token.IsCancellationRequested)
        {
            // The server is stopping: the workflow stays running, and the next start (with Redis, another node) resumes it
            // from its history.
            await RecordShutdownInterruptionAsync(workflowId, fence);
            LogLeftToResume(logger, workflowId);
        }
        catch (Exception ex) when (!StorageFaults.Is(ex))
        {
            // One line with the cause for the operator; the stack only for whoever turns on Debug.
            var cause = WorkflowErrors.Cause(ex);
            WorkflowTracing.Failed(span, cause);
            LogFailed(logger, workflowId, cause);
            LogFailureDetail(logger, ex, workflowId);
            await FailAsync(workflowId, WorkflowErrors.Describe(ex), fence, spent.LlmCalls > 0 ? spent : null);
        }
    }

    /// <summary>
    /// Ends a workflow whose request was rejected before its run parked, the run having stopped (a crash, a shutdown)
    /// before it acted on the decision: as that run would have, with the resolution (unless the history has it) and the
    /// cancelled status, and no <c>running</c> status between. A rejection always ends the workflow, so nothing is run.
    /// </summary>
    private async Task EndRejectedAsync(WorkflowRecord workflow, ApprovalRecord rejection, long fence)
    {
        var reason = ApprovalRejectedException.ReasonFor(rejection.Id, rejection.DecidedBy ?? "", rejection.Comment);
        try
        {
            var (usage, resolved) = await helix.ReadRejectionAsync(workflow, rejection.Id);
            if (!resolved)
            {
                // Its fence raises the stream's to this attempt, as the running status would have.
                await events.ApprovalResolvedAsync(workflow.Id, rejection, fence);
            }

            await FinishAsync(workflow.Id, w => w with { Status = WorkflowStatuses.Cancelled, Error = reason, Usage = usage.LlmCalls > 0 ? usage : w.Usage },
                terminal: null, fence, reason: reason);
            LogRejected(logger, workflow.Id, rejection.Id);
        }
        catch (AppendRefusedException ex) when (ex.Reason == AppendRefusal.StreamLost)
        {
            await EndLostAsync(workflow.Id);
        }
        catch (AppendRefusedException ex)
        {
            LogRefused(logger, workflow.Id, fence, ex.Reason);
        }
    }

    /// <summary>
    /// Records that a shutdown, not a crash, interrupted this attempt, so the resume at the next start is not counted
    /// towards <see cref="WorkflowOptions.MaxAttempts"/>: a long workflow outlives any number of graceful restarts. A
    /// store that cannot take the write leaves the attempt counted as a crash would be.
    /// </summary>
    private async Task RecordShutdownInterruptionAsync(string workflowId, long fence)
    {
        try
        {
            await store.UpdateAsync(workflowId, w => w.Status == WorkflowStatuses.Running && w.Attempts == fence
                ? w with { ShutdownInterruptions = w.ShutdownInterruptions + 1 }
                : null, CancellationToken.None);
        }
        catch (Exception ex) when (StorageFaults.Is(ex) || ex is ObjectDisposedException)
        {
            LogShutdownInterruptionNotRecorded(logger, workflowId, ex.Message);
        }
    }

    /// <summary>
    /// A workflow handed to this node that had finished meanwhile (cancelled while it waited on the shared queue): the
    /// node that finished it may have stopped before appending its end, and nobody else would.
    /// </summary>
    private async Task EndIfFinishedAsync(string workflowId)
    {
        try
        {
            if (await store.GetAsync(workflowId) is { } workflow && WorkflowStatuses.IsTerminal(workflow.Status)
                && await EndStreamIfUnendedAsync(workflow))
            {
                LogEndedOnTake(logger, workflowId, workflow.Status);
            }
        }
        catch (Exception ex) when (StorageFaults.Is(ex))
        {
            // Storage is down: the node that finished it, or the next start's recovery, still can.
        }
    }

    /// <summary>
    /// Ends a finished workflow's stream unless it already ends with its terminal event; true when it appended the end.
    /// </summary>
    public async Task<bool> EndStreamIfUnendedAsync(WorkflowRecord workflow, CancellationToken cancellationToken = default)
    {
        if (await log.GetStateAsync(workflow.Id, cancellationToken) is { } state
            && (await log.ReadAsync(workflow.Id, state.LastSequence - 1, 1, cancellationToken)).Events is [{ IsTerminal: true }])
        {
            return false;
        }

        await EndStreamAsync(workflow, cancellationToken);
        return true;
    }

    /// <summary>
    /// Publishes the end of a finished workflow's stream (its status and terminal event) again, for a workflow whose
    /// record was finished by a process that stopped before it appended the terminal event.
    /// </summary>
    public async Task EndStreamAsync(WorkflowRecord workflow, CancellationToken cancellationToken = default)
    {
        await events.StatusChangedAsync(workflow.Id, workflow.Status);
        WorkflowEvent? terminal = workflow.Status switch
        {
            WorkflowStatuses.Completed => new WorkflowCompleteEvent { WorkflowId = workflow.Id, Synthesis = workflow.Synthesis ?? new(), Usage = workflow.Usage },
            WorkflowStatuses.Failed => new WorkflowErrorEvent { WorkflowId = workflow.Id, Error = workflow.Error ?? WorkflowErrors.Interrupted },
            _ => null, // cancelled: the status is the terminal event
        };
        if (terminal is not null)
        {
            await publisher.PublishAsync(terminal, cancellationToken: cancellationToken);
        }
    }

    /// <summary>
    /// Fails a workflow that is not finished with <paramref name="error"/>; false when it had already finished (or
    /// <paramref name="fence"/>, a run's token, is no longer the workflow's current attempt). <paramref name="usage"/>:
    /// what the workflow spent, when the caller knows.
    /// </summary>
    public Task<bool> FailAsync(
        string workflowId, string error, long fence = 0, WorkflowUsage? usage = null, CancellationToken cancellationToken = default) =>
        FinishAsync(
            workflowId,
            w => w with { Status = WorkflowStatuses.Failed, Error = error, Usage = usage ?? w.Usage },
            new WorkflowErrorEvent { WorkflowId = workflowId, Error = error },
            fence,
            cancellationToken);

    /// <summary>
    /// Moves the workflow to its final status (withdrawing the approval requests still pending, see
    /// <see cref="ApprovalWithdrawal"/>, by <paramref name="withdrawnBy"/>: whoever cancelled, or the system for any other
    /// end) and publishes their resolutions, the status change and the terminal event, unless it has already finished: a
    /// workflow finished elsewhere (cancelled, interrupted, or failed by another node that took over from this one) is
    /// never reopened, and this run then publishes nothing more.
    /// </summary>
    private async Task<bool> FinishAsync(
        string workflowId, Func<WorkflowRecord, WorkflowRecord> finish, WorkflowEvent? terminal, long fence,
        CancellationToken cancellationToken = default, string? reason = null, string? withdrawnBy = null)
    {
        var finished = await Durably(workflowId, ct => store.UpdateAsync(
            workflowId,
            w => WorkflowStatuses.IsTerminal(w.Status) || (fence > 0 && w.Attempts != fence)
                ? null
                : ApprovalWithdrawal.Withdraw(finish(w) with { CompletedAt = time.GetUtcNow() }, withdrawnBy ?? ApprovalWithdrawal.System),
            ct), cancellationToken);
        if (finished is null)
        {
            LogAlreadyFinished(logger, workflowId);
            return false;
        }

        events.CountWithdrawals(finished);
        try
        {
            foreach (var withdrawn in ApprovalWithdrawal.Withdrawn(finished))
            {
                await Durably(workflowId, async ct => { await events.ApprovalResolvedAsync(workflowId, withdrawn, fence, ct); return true; }, cancellationToken);
            }

            await Durably(workflowId, async _ => { await events.StatusChangedAsync(workflowId, finished.Status, fence, reason); return true; }, cancellationToken);
            if (terminal is not null)
            {
                await Durably(workflowId, async ct => await publisher.PublishAsync(terminal, fence, ct), cancellationToken);
            }
        }
        catch (AppendRefusedException ex) when (ex.Reason == AppendRefusal.StreamLost)
        {
            await EndLostAsync(workflowId);
        }
        catch (AppendRefusedException ex)
        {
            // A retried append that had in fact gone through, or a newer attempt: the stream's end is not this run's.
            LogRefused(logger, workflowId, fence, ex.Reason);
        }

        return true;
    }

    /// <summary>
    /// Retries a step of finishing a workflow while storage is unavailable (Redis restarting, a locked database), with
    /// backoff, for up to <see cref="FinishRetryLimit"/>: giving up on the first error would leave the workflow running
    /// forever and its subscribers waiting for an end.
    /// </summary>
    private async Task<T> Durably<T>(string workflowId, Func<CancellationToken, Task<T>> step, CancellationToken cancellationToken)
    {
        // Retrying ends with the process too: what is left then is settled by recovery at the next start.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopped);
        var context = ResilienceContextPool.Shared.Get(workflowId, linked.Token);
        try
        {
            return await _finishRetry.ExecuteAsync(static async (ctx, step) => await step(ctx.CancellationToken), context, step);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private readonly ResiliencePipeline _finishRetry = BuildFinishRetry(logger);

    private static ResiliencePipeline BuildFinishRetry(ILogger logger) => new ResiliencePipelineBuilder()
        .AddTimeout(FinishRetryLimit)
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not (OperationCanceledException or AppendRefusedException)),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromMilliseconds(100),
            MaxDelay = TimeSpan.FromSeconds(5),
            OnRetry = args =>
            {
                LogFinishRetry(logger, args.Outcome.Exception, args.Context.OperationKey ?? "", args.AttemptNumber + 1);
                return ValueTask.CompletedTask;
            },
        })
        .Build();

    /// <summary>Long enough to ride out a storage restart; a node that cannot write for longer is dead for its peers anyway.</summary>
    public static readonly TimeSpan FinishRetryLimit = TimeSpan.FromMinutes(10);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Warning, Message = "Finishing workflow {WorkflowId} failed (attempt {Attempt}); retrying")]
    private static partial void LogFinishRetry(ILogger logger, Exception? exception, string workflowId, int attempt);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} had already finished elsewhere; this run's outcome is dropped")]
    private static partial void LogAlreadyFinished(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} pauses: attempt {Attempt} cannot write ({Cause}); it resumes once storage is back")]
    private static partial void LogPausedForStorage(ILogger logger, string workflowId, long attempt, string cause);

    [LoggerMessage(EventId = 2116, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} waits to start: storage cannot be written ({Cause}); it starts once storage is back")]
    private static partial void LogWaitingToStart(ILogger logger, string workflowId, string cause);

    [LoggerMessage(EventId = 2117, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} was lost: its record and history were lost with storage (a Redis without persistence restarted?); its run ends and its streams are closed")]
    private static partial void LogLostWithStorage(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Error, Message = "Workflow {WorkflowId} failed: storage stayed unavailable for {Duration}")]
    private static partial void LogStorageOutageTooLong(ILogger logger, string workflowId, TimeSpan duration);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Warning, Message = "Workflow {WorkflowId}: the event log refused a write of attempt {Attempt} ({Reason}); this run stops")]
    private static partial void LogRefused(ILogger logger, string workflowId, long attempt, AppendRefusal reason);

    [LoggerMessage(EventId = 2118, Level = LogLevel.Warning, Message = "Workflow {WorkflowId}: could not record that the shutdown interrupted it ({Cause}); its resume counts as an interrupted attempt")]
    private static partial void LogShutdownInterruptionNotRecorded(ILogger logger, string workflowId, string cause);

    [LoggerMessage(EventId = 2109, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} interrupted by the shutdown; it resumes at the next start (with Redis: on another node)")]
    private static partial void LogLeftToResume(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} resumes from its history (attempt {Attempt})")]
    private static partial void LogResumed(ILogger logger, string workflowId, int attempt);

    [LoggerMessage(EventId = 2108, Level = LogLevel.Error, Message = "Workflow {WorkflowId} failed: its run was interrupted {Attempts} times")]
    private static partial void LogGaveUp(ILogger logger, string workflowId, int attempts);

    [LoggerMessage(EventId = 2114, Level = LogLevel.Information, Message = "Workflow {WorkflowId} waits for an approval; its run ends until a decision")]
    private static partial void LogParked(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 2115, Level = LogLevel.Information, Message = "Workflow {WorkflowId} cancelled: approval {ApprovalId} was rejected")]
    private static partial void LogRejected(ILogger logger, string workflowId, string approvalId);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Workflow {WorkflowId} started")]
    private static partial void LogStarted(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Workflow {WorkflowId} completed with confidence {Confidence}")]
    private static partial void LogCompleted(ILogger logger, string workflowId, double confidence);

    [LoggerMessage(EventId = 2119, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} was {Status} when this node took it, but its stream had no terminal event; appended it")]
    private static partial void LogEndedOnTake(ILogger logger, string workflowId, string status);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "Workflow {WorkflowId} cancelled")]
    private static partial void LogCancelled(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Error, Message = "Workflow {WorkflowId} failed: {Cause}")]
    private static partial void LogFailed(ILogger logger, string workflowId, string cause);

    [LoggerMessage(EventId = 2113, Level = LogLevel.Debug, Message = "Workflow {WorkflowId} failed with this exception")]
    private static partial void LogFailureDetail(ILogger logger, Exception exception, string workflowId);
}
