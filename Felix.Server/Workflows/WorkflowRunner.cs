using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Agents;
using Felix.Server.Observability;
using Felix.Server.Streaming;
using Polly;
using Polly.Retry;

namespace Felix.Server.Workflows;

/// <summary>Runs one workflow: status changes, the agents' work, then the terminal events.</summary>
internal sealed partial class WorkflowRunner(
    IWorkflowStore store,
    EventPublisher publisher,
    WorkflowEvents events,
    HelixWorkflow helix,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<WorkflowRunner> logger)
{
    public async Task RunAsync(string workflowId, ActiveRun run)
    {
        var workflow = await store.UpdateAsync(workflowId, w => w.Status == WorkflowStatuses.Pending
            ? w with { Status = WorkflowStatuses.Running, StartedAt = time.GetUtcNow() }
            : null);
        if (workflow is null)
        {
            return; // cancelled while it waited in the queue
        }

        using var span = WorkflowTracing.StartWorkflow(workflowId);
        await events.StatusChangedAsync(workflowId, WorkflowStatuses.Running);
        LogStarted(logger, workflowId);
        try
        {
            var outcome = await helix.RunAsync(workflow, run.Token);
            var completed = await FinishAsync(
                workflowId,
                w => w with { Status = WorkflowStatuses.Completed, Synthesis = outcome.Synthesis, Usage = outcome.Usage },
                new WorkflowCompleteEvent { WorkflowId = workflowId, Synthesis = outcome.Synthesis, Usage = outcome.Usage });
            if (completed)
            {
                LogCompleted(logger, workflowId, outcome.Synthesis.Confidence);
            }
        }
        catch (OperationCanceledException) when (run.CancelRequested)
        {
            // A cancelled workflow's terminal event is its cancelled status.
            await FinishAsync(workflowId, w => w with { Status = WorkflowStatuses.Cancelled }, terminal: null);
            LogCancelled(logger, workflowId);
        }
        catch (OperationCanceledException) when (run.Token.IsCancellationRequested)
        {
            WorkflowTracing.Failed(span, WorkflowErrors.Interrupted);
            await FailAsync(workflowId, WorkflowErrors.Interrupted);
        }
        catch (Exception ex)
        {
            // One line with the cause for the operator; the stack only for whoever turns on Debug.
            var cause = WorkflowErrors.Cause(ex);
            WorkflowTracing.Failed(span, cause);
            LogFailed(logger, workflowId, cause);
            LogFailureDetail(logger, ex, workflowId);
            await FailAsync(workflowId, WorkflowErrors.Describe(ex));
        }
    }

    /// <summary>
    /// Fails a workflow that is not finished because the server stopped before running or finishing it; false when it
    /// had already finished.
    /// </summary>
    public Task<bool> InterruptAsync(string workflowId, CancellationToken cancellationToken = default) =>
        FailAsync(workflowId, WorkflowErrors.Interrupted, cancellationToken);

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
            await publisher.PublishAsync(terminal, cancellationToken);
        }
    }

    /// <summary>Fails a workflow that is not finished with <paramref name="error"/>; false when it had already finished.</summary>
    public Task<bool> FailAsync(string workflowId, string error, CancellationToken cancellationToken = default) =>
        FinishAsync(
            workflowId,
            w => w with { Status = WorkflowStatuses.Failed, Error = error },
            new WorkflowErrorEvent { WorkflowId = workflowId, Error = error },
            cancellationToken);

    /// <summary>
    /// Moves the workflow to its final status and publishes the status change and the terminal event, unless it has
    /// already finished: a workflow finished elsewhere (cancelled, interrupted, or failed by another node that took over
    /// from this one) is never reopened, and this run then publishes nothing more.
    /// </summary>
    private async Task<bool> FinishAsync(
        string workflowId, Func<WorkflowRecord, WorkflowRecord> finish, WorkflowEvent? terminal, CancellationToken cancellationToken = default)
    {
        var finished = await Durably(workflowId, ct => store.UpdateAsync(
            workflowId,
            w => WorkflowStatuses.IsTerminal(w.Status) ? null : finish(w) with { CompletedAt = time.GetUtcNow() },
            ct), cancellationToken);
        if (finished is null)
        {
            LogAlreadyFinished(logger, workflowId);
            return false;
        }

        await Durably(workflowId, async _ => { await events.StatusChangedAsync(workflowId, finished.Status); return true; }, cancellationToken);
        if (terminal is not null)
        {
            await Durably(workflowId, async ct => await publisher.PublishAsync(terminal, ct), cancellationToken);
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
            ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
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

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Workflow {WorkflowId} started")]
    private static partial void LogStarted(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Workflow {WorkflowId} completed with confidence {Confidence}")]
    private static partial void LogCompleted(ILogger logger, string workflowId, double confidence);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "Workflow {WorkflowId} cancelled")]
    private static partial void LogCancelled(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Error, Message = "Workflow {WorkflowId} failed: {Cause}")]
    private static partial void LogFailed(ILogger logger, string workflowId, string cause);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Debug, Message = "Workflow {WorkflowId} failed with this exception")]
    private static partial void LogFailureDetail(ILogger logger, Exception exception, string workflowId);
}
