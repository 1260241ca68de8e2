using Felix.Contracts;
using Felix.Server.Workflows;

namespace Felix.Server.Storage;

/// <summary>
/// Runs once at start, before the server takes requests: a workflow stored as pending or running belongs to a process
/// that stopped without finishing it, so it is marked failed and its stream gets the <c>workflow_error</c> that says so.
/// Its sequences continue from the stored history.
/// </summary>
internal sealed partial class WorkflowRecovery(IWorkflowStore store, WorkflowRunner runner, ILogger<WorkflowRecovery> logger) : IHostedService
{
    private const int PageSize = 100;

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
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 6301, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} was {Status} when the server last stopped; marked failed")]
    private static partial void LogInterrupted(ILogger logger, string workflowId, string status);
}
