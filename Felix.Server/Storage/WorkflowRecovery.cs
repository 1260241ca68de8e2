using Felix.Contracts;
using Felix.Server.Streaming;
using Felix.Server.Workflows;

namespace Felix.Server.Storage;

/// <summary>
/// Runs once at start, before the server takes requests: a workflow stored as pending or running belongs to a process
/// that stopped without finishing it, so it is marked failed and its stream gets the <c>workflow_error</c> that says so.
/// Its sequences continue from the stored history.
/// </summary>
/// <remarks>
/// A workflow's record is finished a moment before its terminal event is appended; a process that dies in between
/// leaves a finished workflow whose stream never ends, and subscribers that wait for its end. The most recently created
/// workflows are checked for that and get their terminal event.
/// </remarks>
internal sealed partial class WorkflowRecovery(IWorkflowStore store, IEventLog log, WorkflowRunner runner, ILogger<WorkflowRecovery> logger) : IHostedService
{
    private const int PageSize = 100;

    /// <summary>A crash can leave at most the workflows that were finishing when it struck: the newest few.</summary>
    public const int RecentWorkflowsToCheck = 200;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var status in new[] { WorkflowStatuses.Running, WorkflowStatuses.Pending })
        {
            while (true)
            {
                // Each interrupted workflow leaves the status, so the first page is always the next batch.
                var (items, _) = await store.ListAsync(status, null, 1, PageSize, cancellationToken);
                var fresh = items.Where(w => seen.Add(w.Id)).ToList();
                if (fresh.Count == 0)
                {
                    break;
                }

                foreach (var workflow in fresh)
                {
                    if (await runner.InterruptAsync(workflow.Id, cancellationToken))
                    {
                        LogInterrupted(logger, workflow.Id, status);
                    }
                }
            }
        }

        await EndUnterminatedStreamsAsync(cancellationToken);
    }

    private async Task EndUnterminatedStreamsAsync(CancellationToken cancellationToken)
    {
        var (recent, _) = await store.ListAsync(null, null, 1, RecentWorkflowsToCheck, cancellationToken);
        foreach (var workflow in recent.Where(w => WorkflowStatuses.IsTerminal(w.Status)))
        {
            var state = await log.GetStateAsync(workflow.Id, cancellationToken);
            if (state is { } s && (await log.ReadAsync(workflow.Id, s.LastSequence - 1, 1, cancellationToken)).Events is [{ IsTerminal: true }])
            {
                continue;
            }

            await runner.EndStreamAsync(workflow, cancellationToken);
            LogStreamEnded(logger, workflow.Id, workflow.Status);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 6302, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} was {Status} but its stream had no terminal event; appended it")]
    private static partial void LogStreamEnded(ILogger logger, string workflowId, string status);

    [LoggerMessage(EventId = 6301, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} was {Status} when the server last stopped; marked failed")]
    private static partial void LogInterrupted(ILogger logger, string workflowId, string status);
}
