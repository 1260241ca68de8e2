using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Felix.Server.Workflows;

/// <summary>Takes workflows from the queue and runs up to <see cref="WorkflowOptions.MaxConcurrent"/> at once.</summary>
internal sealed partial class WorkflowEngine(
    WorkflowQueue queue,
    WorkflowRunner runner,
    IOptions<WorkflowOptions> options,
    ILogger<WorkflowEngine> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, ActiveRun> _active = new(StringComparer.Ordinal);

    public int ActiveCount => _active.Count;

    public bool IsRunning { get; private set; }

    /// <summary>Asks a running workflow to stop; returns a task that completes when its work has stopped, or null.</summary>
    public Task? TryCancel(string workflowId)
    {
        if (!_active.TryGetValue(workflowId, out var run))
        {
            return null;
        }

        run.RequestCancel();
        return run.Finished;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        IsRunning = true;
        LogStarted(logger, options.Value.MaxConcurrent);
        try
        {
            await Parallel.ForEachAsync(
                queue.ReadAllAsync(stoppingToken),
                new ParallelOptions { MaxDegreeOfParallelism = options.Value.MaxConcurrent },
                (id, _) => new ValueTask(RunOneAsync(id, stoppingToken)));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            IsRunning = false;
        }
    }

    private async Task RunOneAsync(string workflowId, CancellationToken stoppingToken)
    {
        using var run = new ActiveRun(stoppingToken);
        _active[workflowId] = run;
        try
        {
            await runner.RunAsync(workflowId, run);
        }
        catch (Exception ex)
        {
            // The runner reports its own failures; this is the last line so one workflow never stops the loop.
            LogRunCrashed(logger, ex, workflowId);
        }
        finally
        {
            _active.TryRemove(workflowId, out _);
            run.MarkFinished();
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Workflow engine started: up to {MaxConcurrent} workflows at once")]
    private static partial void LogStarted(ILogger logger, int maxConcurrent);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Workflow {WorkflowId} crashed outside its runner")]
    private static partial void LogRunCrashed(ILogger logger, Exception exception, string workflowId);
}
