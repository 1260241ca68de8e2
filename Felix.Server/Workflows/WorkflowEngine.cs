using System.Collections.Concurrent;
using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Microsoft.Extensions.Options;

namespace Felix.Server.Workflows;

/// <summary>
/// Takes workflows from the queue and runs up to <see cref="WorkflowOptions.MaxConcurrent"/> at once. On shutdown it
/// stops taking work, lets running workflows finish within <see cref="WorkflowOptions.ShutdownGracePeriod"/>, then
/// interrupts the rest. Interrupted and queued workflows keep their status (running, pending): the next start queues
/// them again and resumes the interrupted ones from their histories.
/// </summary>
internal sealed partial class WorkflowEngine(
    WorkflowQueue queue,
    WorkflowRunner runner,
    SystemEventBus system,
    IOptions<WorkflowOptions> options,
    TimeProvider time,
    ILogger<WorkflowEngine> logger) : BackgroundService, IHostedLifecycleService
{
    private readonly ConcurrentDictionary<string, ActiveRun> _active = new(StringComparer.Ordinal);
    // Never disposed: it has no timer or wait handle, and a host may call StopAsync after Dispose.
    private readonly CancellationTokenSource _interrupt = new();
    private volatile bool _stopping;
    private readonly Lock _drainLock = new();
    private Task? _drained;

    public int ActiveCount => _active.Count;

    /// <summary>Whether this process is running <paramref name="workflowId"/> now.</summary>
    public bool IsActive(string workflowId) => _active.ContainsKey(workflowId);

    public bool IsRunning { get; private set; }

    /// <summary>True once shutdown began: no new work is accepted.</summary>
    public bool IsStopping => _stopping;

    /// <summary>
    /// True once this node's run of <paramref name="workflowId"/> has been told to stop (a cancel, or the end of the
    /// shutdown grace period): what a test that holds a run at one point waits for before letting it go.
    /// </summary>
    internal bool IsStopRequested(string workflowId) => _active.TryGetValue(workflowId, out var run) && run.Token.IsCancellationRequested;

    /// <summary>
    /// Asks a running workflow to stop on behalf of <paramref name="cancelledBy"/> (who its withdrawn requests are
    /// recorded under); returns a task that completes when its work has stopped, or null.
    /// </summary>
    public Task? TryCancel(string workflowId, string cancelledBy)
    {
        if (!_active.TryGetValue(workflowId, out var run))
        {
            return null;
        }

        run.RequestCancel(cancelledBy);
        return run.Finished;
    }

    /// <summary>
    /// The drain: called by the host before any hosted service stops, so the HTTP server still answers while running
    /// workflows finish (readiness and new work answer 503 meanwhile). Stops taking work, waits up to the grace period,
    /// then interrupts what is left; interrupted workflows resume at the next start.
    /// </summary>
    public Task StoppingAsync(CancellationToken cancellationToken) => DrainAsync(cancellationToken);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await DrainAsync(cancellationToken);
        await base.StopAsync(cancellationToken);
    }

    private Task DrainAsync(CancellationToken cancellationToken)
    {
        // The host calls StoppingAsync and then StopAsync; tests call StopAsync alone: one drain either way.
        lock (_drainLock)
        {
            return _drained ??= DrainOnceAsync(cancellationToken);
        }
    }

    private async Task DrainOnceAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        var grace = options.Value.ShutdownGracePeriod;
        var running = _active.Count;
        LogStopping(logger, running, grace);
        await PublishStatusAsync(SystemEvent.Stopping, $"Node stopping: running workflows get {grace.TotalSeconds:0.#} s to finish, then resume at the next start");
        // Stops taking from the queue; completes once the running workflows have ended.
        var stopped = base.StopAsync(CancellationToken.None);
        int interrupted;
        try
        {
            await stopped.WaitAsync(grace, time, cancellationToken);
            LogDrained(logger, running, 0);
            return;
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            interrupted = _active.Count;
            LogInterrupting(logger, interrupted);
        }

        await _interrupt.CancelAsync();
        try
        {
            await stopped.WaitAsync(cancellationToken);
            LogDrained(logger, running - interrupted, interrupted);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown timeout is over: runs still finishing (storage unavailable) end with the process.
            LogAbandoned(logger, _active.Count);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        IsRunning = true;
        LogStarted(logger, options.Value.MaxConcurrent);
        await PublishStatusAsync(SystemEvent.Running, "Node running: taking workflows");
        try
        {
            await Parallel.ForEachAsync(
                queue.ReadAllAsync(stoppingToken),
                new ParallelOptions { MaxDegreeOfParallelism = options.Value.MaxConcurrent },
                (id, _) => new ValueTask(RunOneAsync(id)));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            IsRunning = false;
        }
    }

    /// <summary>Tells the system streams, this node's and (scale-out) the others', that this node's engine changed state.</summary>
    /// <remarks>
    /// A notice, not the engine's work: a node whose connections are already gone (Redis closed as the host stops, a
    /// test that stops the engine late) still starts and drains.
    /// </remarks>
    private async Task PublishStatusAsync(string status, string message)
    {
        try
        {
            await system.PublishAsync(new SystemEvent { Type = SystemEvent.SystemStatusChange, Status = status, Message = message });
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException or OperationCanceledException
            || StorageFaults.Is(ex))
        {
            LogStatusNotPublished(logger, status, ex.GetType().Name);
        }
    }

    private async Task RunOneAsync(string workflowId)
    {
        // Runs are cancelled by their own cancel, or when the grace period of a shutdown is over; not by the shutdown itself.
        using var run = new ActiveRun(_interrupt.Token);
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

    [LoggerMessage(EventId = 6401, Level = LogLevel.Information, Message = "Workflow engine stopping: {Running} running workflows get {Grace} to finish")]
    private static partial void LogStopping(ILogger logger, int running, TimeSpan grace);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Shutdown timeout reached with {Running} workflows still finishing; recovery at the next start will settle them")]
    private static partial void LogAbandoned(ILogger logger, int running);

    [LoggerMessage(EventId = 6403, Level = LogLevel.Debug, Message = "The node's {Status} notice was not published: {Fault}")]
    private static partial void LogStatusNotPublished(ILogger logger, string status, string fault);

    [LoggerMessage(EventId = 6402, Level = LogLevel.Warning, Message = "Grace period over: interrupting {Running} running workflows")]
    private static partial void LogInterrupting(ILogger logger, int running);

    // The drain's last line: without it, a log that ends at "stopping" reads the same as a node killed mid-drain.
    [LoggerMessage(EventId = 9700, Level = LogLevel.Information, Message = "Workflow engine stopped: {Finished} workflows finished during the drain, {Interrupted} interrupted (they resume at the next start; with Redis, on another node)")]
    private static partial void LogDrained(ILogger logger, int finished, int interrupted);
}
