using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Agents;
using Felix.Server.Streaming;

namespace Felix.Server.Workflows;

/// <summary>Runs one workflow: status changes, the agents' work, then the terminal events.</summary>
internal sealed partial class WorkflowRunner(
    IWorkflowStore store,
    EventPublisher publisher,
    WorkflowEvents events,
    HelixWorkflow helix,
    TimeProvider time,
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

        await events.StatusChangedAsync(workflowId, WorkflowStatuses.Running);
        LogStarted(logger, workflowId);
        try
        {
            var outcome = await helix.RunAsync(workflow, run.Token);
            var completed = await store.UpdateAsync(workflowId, w => w with
            {
                Status = WorkflowStatuses.Completed,
                CompletedAt = time.GetUtcNow(),
                Synthesis = outcome.Synthesis,
                Usage = outcome.Usage,
            });
            await events.StatusChangedAsync(workflowId, WorkflowStatuses.Completed);
            await publisher.PublishAsync(new WorkflowCompleteEvent
            {
                WorkflowId = workflowId,
                Synthesis = outcome.Synthesis,
                Usage = outcome.Usage,
            });
            LogCompleted(logger, workflowId, outcome.Synthesis.Confidence);
        }
        catch (OperationCanceledException) when (run.CancelRequested)
        {
            await store.UpdateAsync(workflowId, w => w with { Status = WorkflowStatuses.Cancelled, CompletedAt = time.GetUtcNow() });
            await events.StatusChangedAsync(workflowId, WorkflowStatuses.Cancelled);
            LogCancelled(logger, workflowId);
        }
        catch (OperationCanceledException) when (run.Token.IsCancellationRequested)
        {
            await FailAsync(workflowId, WorkflowErrors.Interrupted);
        }
        catch (Exception ex)
        {
            LogFailed(logger, ex, workflowId);
            await FailAsync(workflowId, WorkflowErrors.Describe(ex));
        }
    }

    /// <summary>
    /// Fails a workflow that is not finished because the server stopped before running or finishing it; false when it
    /// had already finished.
    /// </summary>
    public async Task<bool> InterruptAsync(string workflowId, CancellationToken cancellationToken = default)
    {
        var failed = await store.UpdateAsync(workflowId, w => WorkflowStatuses.IsTerminal(w.Status)
            ? null
            : w with { Status = WorkflowStatuses.Failed, CompletedAt = time.GetUtcNow(), Error = WorkflowErrors.Interrupted }, cancellationToken);
        if (failed is null)
        {
            return false;
        }

        await events.StatusChangedAsync(workflowId, WorkflowStatuses.Failed);
        await publisher.PublishAsync(new WorkflowErrorEvent { WorkflowId = workflowId, Error = WorkflowErrors.Interrupted }, cancellationToken);
        return true;
    }

    private async Task FailAsync(string workflowId, string error)
    {
        await store.UpdateAsync(workflowId, w => w with { Status = WorkflowStatuses.Failed, CompletedAt = time.GetUtcNow(), Error = error });
        await events.StatusChangedAsync(workflowId, WorkflowStatuses.Failed);
        await publisher.PublishAsync(new WorkflowErrorEvent { WorkflowId = workflowId, Error = error });
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Workflow {WorkflowId} started")]
    private static partial void LogStarted(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Workflow {WorkflowId} completed with confidence {Confidence}")]
    private static partial void LogCompleted(ILogger logger, string workflowId, double confidence);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "Workflow {WorkflowId} cancelled")]
    private static partial void LogCancelled(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string workflowId);
}
