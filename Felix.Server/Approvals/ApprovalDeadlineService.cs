using Felix.Contracts;
using Felix.Server.Platform;
using Felix.Server.Workflows;
using Microsoft.Extensions.Options;

namespace Felix.Server.Approvals;

/// <summary>
/// Settles requests nobody decided in time with their default outcome. The deadline is stored with the request, so it
/// holds across restarts and on any node; every node looks, and the decision is conditional, so exactly one settles it.
/// </summary>
internal sealed partial class ApprovalDeadlineService(
    IWorkflowStore store,
    ApprovalService approvals,
    TimeProvider time,
    IOptions<ApprovalOptions> options,
    ILogger<ApprovalDeadlineService> logger) : BackgroundService
{
    private const int PageSize = 100;
    public const string TimedOutComment = "No decision before the deadline.";

    private readonly FailureSpell _checkFaults = new();

    /// <summary>Requests waiting for a decision, as of the last look.</summary>
    public int Waiting { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await SettleExpiredAsync(stoppingToken);
                    if (_checkFaults.Ends())
                    {
                        LogCheckRecovered(logger);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    if (_checkFaults.Begins())
                    {
                        LogCheckFailed(logger, ex);
                    }
                    else
                    {
                        LogCheckStillFailing(logger, ex.GetType().Name);
                    }
                }

                await Task.Delay(options.Value.DeadlineCheckInterval, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal async Task SettleExpiredAsync(CancellationToken cancellationToken)
    {
        var waiting = new List<WorkflowRecord>();
        for (var page = 1; ; page++)
        {
            var (items, total) = await store.ListAsync(WorkflowStatuses.AwaitingApproval, null, page, PageSize, cancellationToken);
            waiting.AddRange(items);
            if (items.Count == 0 || page * PageSize >= total)
            {
                break;
            }
        }

        Waiting = waiting.Sum(w => w.Approvals.Count(a => a.IsPending));
        var now = time.GetUtcNow();
        foreach (var workflow in waiting)
        {
            foreach (var approval in workflow.Approvals.Where(a => a.IsPending && a.ExpiresAt <= now))
            {
                var outcome = await approvals.DecideAsync(
                    workflow.Id, approval.Id, approval.OnTimeout, TimedOutComment, ApprovalService.Deadline, null, cancellationToken);
                if (outcome.Result == DecideResult.Decided)
                {
                    LogExpired(logger, workflow.Id, approval.Id, approval.OnTimeout);
                }
            }
        }
    }

    [LoggerMessage(EventId = 8301, Level = LogLevel.Information, Message = "Approval {ApprovalId} of workflow {WorkflowId} expired: {Outcome} by default")]
    private static partial void LogExpired(ILogger logger, string workflowId, string approvalId, string outcome);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Debug, Message = "Looking for expired approvals still fails ({Fault})")]
    private static partial void LogCheckStillFailing(ILogger logger, string fault);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Information, Message = "Looking for expired approvals works again")]
    private static partial void LogCheckRecovered(ILogger logger);

    [LoggerMessage(EventId = 8302, Level = LogLevel.Warning, Message = "Looking for expired approvals failed; trying again every interval (repeats at Debug until it works)")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}
