using Felix.Contracts;
using Felix.Server.Streaming;
using Felix.Server.Workflows;

namespace Felix.Server.Storage;

/// <summary>
/// Runs once at start, before the server takes requests: a workflow stored as pending or running belongs to a process
/// that stopped without finishing it. Its work was accepted, so it is queued again, in the order the workflows were
/// created: a pending one runs as usual, a running one resumes from its history (see <see cref="WorkflowRunner"/>).
/// </summary>
/// <remarks>
/// A workflow's record is finished a moment before its terminal event is appended; a process that dies in between
/// leaves a finished workflow whose stream never ends, and subscribers that wait for its end. The store keeps those
/// (<see cref="IFinishingWorkflows"/>), however long ago they were created, and each gets its terminal event.
/// </remarks>
internal sealed partial class WorkflowRecovery(
    IWorkflowStore store,
    IFinishingWorkflows finishing,
    WorkflowRunner runner,
    WorkflowQueue queue,
    ILogger<WorkflowRecovery> logger) : IHostedService
{
    private const int PageSize = 100;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var unfinished = new List<WorkflowRecord>();
        foreach (var status in new[] { WorkflowStatuses.Running, WorkflowStatuses.Pending })
        {
            for (var page = 1; ; page++)
            {
                var (items, total) = await store.ListAsync(status, null, page, PageSize, cancellationToken);
                unfinished.AddRange(items);
                if (items.Count == 0 || page * PageSize >= total)
                {
                    break;
                }
            }
        }

        foreach (var workflow in unfinished.DistinctBy(w => w.Id).OrderBy(w => w.CreatedAt).ThenBy(w => w.Id, StringComparer.Ordinal))
        {
            queue.Requeue(workflow.Owner, workflow.Id);
            LogRequeued(logger, workflow.Id, workflow.Status);
        }

        await EndUnterminatedStreamsAsync(cancellationToken);
    }

    private async Task EndUnterminatedStreamsAsync(CancellationToken cancellationToken)
    {
        foreach (var workflow in await finishing.ListFinishingAsync(cancellationToken))
        {
            // Appending the terminal event takes it off the list.
            if (await runner.EndStreamIfUnendedAsync(workflow, cancellationToken))
            {
                LogStreamEnded(logger, workflow.Id, workflow.Status);
            }
            else
            {
                // Its end was appended before its record was finished (or the list is wider than it must be).
                await finishing.ConfirmEndedAsync(workflow.Id, cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 6302, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} was {Status} but its stream had no terminal event; appended it")]
    private static partial void LogStreamEnded(ILogger logger, string workflowId, string status);

    [LoggerMessage(EventId = 6301, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} was {Status} when the server last stopped; queued again")]
    private static partial void LogRequeued(ILogger logger, string workflowId, string status);
}
