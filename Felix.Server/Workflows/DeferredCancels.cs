namespace Felix.Server.Workflows;

/// <summary>
/// Cancels that met a storage outage and have no client left to try again: an AG-UI run that asked for
/// <c>cancel_on_disconnect</c> and whose client went away while the store could not be reached. (REST answers such a
/// cancel 503 with <c>Retry-After</c>, and its client retries.) A run of this node is stopped at once, and its
/// cancelled end is written once storage takes writes, as for any cancel of a run paused by a storage fault; the cancel
/// itself is tried again every <see cref="RetryDelay"/> until the store answers, so a run on another node, or one still
/// queued, is cancelled too. The retries live in this process: a node that stops first leaves the cancel undone, and
/// says so.
/// </summary>
internal sealed partial class DeferredCancels(
    WorkflowService workflows, WorkflowEngine engine, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<DeferredCancels> logger)
{
    /// <summary>The runner's own pace while storage is down: prompt once it is back, without hammering it meanwhile.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);

    // The workflows whose cancel is being retried; each retry loop ends (and leaves this set) on its own.
    private readonly HashSet<string> _pending = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>
    /// Cancels <paramref name="workflowId"/> once storage answers (<paramref name="owner"/>: the tenant allowed to, and
    /// <paramref name="cancelledBy"/>: who asked, as for <see cref="WorkflowService.CancelAsync"/>). A second cancel of a
    /// workflow already waiting joins the first.
    /// </summary>
    public void Add(string workflowId, string? owner, string cancelledBy)
    {
        // In memory, so it works with the store down: the run stops spending now, and writes its end when it can.
        engine.TryCancel(workflowId, cancelledBy);
        lock (_lock)
        {
            if (_pending.Add(workflowId))
            {
                _ = RetryAsync(workflowId, owner, cancelledBy);
            }
        }
    }

    private async Task RetryAsync(string workflowId, string? owner, string cancelledBy)
    {
        await Task.Yield(); // the caller holds the lock
        var stopping = lifetime.ApplicationStopping;
        try
        {
            while (true)
            {
                await Task.Delay(RetryDelay, time, stopping);
                try
                {
                    var outcome = await workflows.CancelAsync(workflowId, owner, cancelledBy, stopping);
                    LogWritten(logger, workflowId, outcome.Result);
                    return;
                }
                catch (Exception ex) when (StorageFaults.Is(ex))
                {
                    // Still down: the next round tries again.
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            LogLeftUndone(logger, workflowId);
        }
        catch (Exception ex)
        {
            LogFailed(logger, ex, workflowId);
        }
        finally
        {
            lock (_lock)
            {
                _pending.Remove(workflowId);
            }
        }
    }

    [LoggerMessage(EventId = 2204, Level = LogLevel.Information, Message = "The deferred cancel of workflow {WorkflowId} was written now that storage is back ({Result})")]
    private static partial void LogWritten(ILogger logger, string workflowId, CancelResult result);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Warning, Message = "The node stops with the cancel of workflow {WorkflowId} still unwritten: storage did not come back in time")]
    private static partial void LogLeftUndone(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 2206, Level = LogLevel.Error, Message = "The deferred cancel of workflow {WorkflowId} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string workflowId);
}
