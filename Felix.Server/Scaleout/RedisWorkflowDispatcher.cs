using System.Collections.Concurrent;
using Felix.Server.Platform;
using Felix.Server.Workflows;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Felix.Server.Scaleout;

/// <summary>
/// The shared work queue: a created workflow goes to its tenant's Redis list, and every node takes from the tenants in
/// turn (<see cref="RedisQueueScripts"/>) while its engine has a free slot, recording itself as the workflow's owner in
/// the same step (so a node that dies holding work is found by its expired lease). Cancels of runs on another node go through a Redis channel; the owner answers once its run stopped.
/// </summary>
internal sealed partial class RedisWorkflowDispatcher(
    RedisConnection redis,
    WorkflowQueue queue,
    WorkflowEngine engine,
    ScaleoutSignals signals,
    UnqueuedWorkflows unqueued,
    IOptions<ScaleoutOptions> options,
    IOptions<WorkflowOptions> workflowOptions,
    TimeProvider time,
    ILogger<RedisWorkflowDispatcher> logger) : BackgroundService, IWorkflowDispatcher
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _cancels = new(StringComparer.Ordinal);
    private readonly FailureSpell _queueFaults = new();
    private bool _subscribed;
    private string _lastTaken = "-";
    private bool _takeUnanswered;

    public async ValueTask DispatchAsync(string workflowId, string tenant, CancellationToken cancellationToken = default)
    {
        try
        {
            await EnqueueAsync(redis, workflowId, tenant, front: false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Still held by this node (the push did not happen) or queued (only the reply was lost): queued later if held.
            unqueued.Add(workflowId);
            throw;
        }
        finally
        {
            // The local slot only bounded the creation; the node that takes the workflow reserves its own.
            queue.Release(tenant);
        }

        await redis.Subscriber.PublishAsync(redis.Keys.WorkChannel, workflowId);
    }

    public void DispatchLater(string workflowId) => unqueued.Add(workflowId);

    /// <summary>
    /// Puts a workflow this node holds on its tenant's list of the shared queue, at the back or at the front to be taken
    /// next, and lets go of the hold in the same step (see <see cref="RedisQueueScripts.Enqueue"/>). False when this node
    /// does not hold it (queued already, or claimed by another node), and nothing was pushed.
    /// </summary>
    internal static async Task<bool> EnqueueAsync(RedisConnection redis, string workflowId, string tenant, bool front) =>
        (int)await redis.Database.ScriptEvaluateAsync(
            RedisQueueScripts.Enqueue,
            [redis.Keys.TenantQueue(tenant), redis.Keys.QueueTurns, redis.Keys.Owners],
            [workflowId, tenant, front ? "front" : "back", redis.NodeId]) == 1;

    public Task? CancelElsewhere(string workflowId, string cancelledBy) => CancelElsewhereAsync(workflowId, cancelledBy);

    private async Task CancelElsewhereAsync(string workflowId, string cancelledBy)
    {
        var owner = await redis.Database.HashGetAsync(redis.Keys.Owners, workflowId);
        if (owner.IsNull || owner == redis.NodeId)
        {
            return;
        }

        var stopped = _cancels.GetOrAdd(workflowId, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            await redis.Subscriber.PublishAsync(redis.Keys.CancelChannel, RedisCancelMessage.Format(workflowId, cancelledBy));
            await stopped.Task.WaitAsync(workflowOptions.Value.CancelWait, time);
        }
        catch (TimeoutException)
        {
            LogRemoteCancelSlow(logger, workflowId, owner.ToString());
        }
        finally
        {
            _cancels.TryRemove(new KeyValuePair<string, TaskCompletionSource>(workflowId, stopped));
        }
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var subscriber = redis.Subscriber;
        try
        {
            await SubscribeAllAsync(subscriber);
            _subscribed = true;
        }
        catch (RedisConnectionException ex)
        {
            LogSubscribeDeferred(logger, ex);
        }

        await base.StartAsync(cancellationToken);
    }

    private async Task SubscribeAllAsync(ISubscriber subscriber)
    {
        (await subscriber.SubscribeAsync(redis.Keys.WorkChannel)).OnMessage(_ => signals.WakeQueue());
        (await subscriber.SubscribeAsync(redis.Keys.CancelChannel)).OnMessage(m => { _ = OnCancelAsync(m); });
        (await subscriber.SubscribeAsync(redis.Keys.CancelledChannel)).OnMessage(m =>
        {
            if (_cancels.TryGetValue(m.Message.ToString(), out var stopped))
            {
                stopped.TrySetResult();
            }
        });
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var poll = options.Value.QueuePollInterval;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if (!_subscribed)
                    {
                        await SubscribeAllAsync(redis.Subscriber);
                        _subscribed = true;
                    }

                    if (await TakeWorkAsync() && _queueFaults.Ends())
                    {
                        LogQueueAvailable(logger);
                    }
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    if (_queueFaults.Begins())
                    {
                        LogQueueUnavailable(logger, ex);
                    }
                    else
                    {
                        LogQueueStillUnavailable(logger, ex.GetType().Name);
                    }
                }

                await signals.WaitForWorkAsync(poll, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Takes workflows from the shared queue while this node's engine has free slots. True when Redis answered (false
    /// when there was no free slot to ask for, which says nothing about Redis).
    /// </summary>
    private async Task<bool> TakeWorkAsync()
    {
        var answered = false;
        while (!engine.IsStopping && engine.ActiveCount + queue.Count < workflowOptions.Value.MaxConcurrent && queue.TryReserve(WorkflowQueue.SharedQueueTenant))
        {
            RedisResult taken;
            try
            {
                taken = await redis.Database.ScriptEvaluateAsync(
                    RedisQueueScripts.Take,
                    [redis.Keys.QueueTurns, redis.Keys.Owners, redis.Keys.LastTake(redis.NodeId)],
                    [redis.NodeId, redis.Keys.TenantQueuePrefix, _takeUnanswered ? _lastTaken : ""]);
            }
            catch
            {
                // Redis may have run the take: the next one asks for what it took.
                _takeUnanswered = true;
                queue.Release(WorkflowQueue.SharedQueueTenant);
                throw;
            }

            answered = true;
            var again = _takeUnanswered;
            _takeUnanswered = false;
            if (taken.IsNull)
            {
                queue.Release(WorkflowQueue.SharedQueueTenant);
                return answered;
            }

            var workflowId = (string)taken!;
            _lastTaken = workflowId;
            if (again)
            {
                LogTakenAgain(logger, workflowId);
            }

            LogTaken(logger, workflowId, redis.NodeId);
            queue.Enqueue(WorkflowQueue.SharedQueueTenant, workflowId);
        }

        return answered;
    }

    private async Task OnCancelAsync(ChannelMessage message)
    {
        var (workflowId, cancelledBy) = RedisCancelMessage.Parse(message.Message.ToString());
        if (engine.TryCancel(workflowId, cancelledBy) is not { } stopped)
        {
            return;
        }

        try
        {
            await stopped.WaitAsync(workflowOptions.Value.CancelWait, time);
            await redis.Subscriber.PublishAsync(redis.Keys.CancelledChannel, workflowId);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogRemoteCancelFailed(logger, ex, workflowId);
        }
    }

    [LoggerMessage(EventId = 7201, Level = LogLevel.Debug, Message = "Workflow {WorkflowId} taken from the shared queue by node {NodeId}")]
    private static partial void LogTaken(ILogger logger, string workflowId, string nodeId);

    [LoggerMessage(EventId = 7206, Level = LogLevel.Warning, Message = "Took workflow {WorkflowId} from the shared queue; the answer to an earlier take had been lost on the way")]
    private static partial void LogTakenAgain(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Warning, Message = "The shared work queue is unreachable; trying again every poll interval (repeats at Debug until it answers)")]
    private static partial void LogQueueUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Debug, Message = "The shared work queue is still unreachable ({Fault})")]
    private static partial void LogQueueStillUnavailable(ILogger logger, string fault);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "The shared work queue answers again")]
    private static partial void LogQueueAvailable(ILogger logger);

    [LoggerMessage(EventId = 7203, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} on node {NodeId} did not confirm its cancel in time")]
    private static partial void LogRemoteCancelSlow(ILogger logger, string workflowId, string nodeId);

    [LoggerMessage(EventId = 7204, Level = LogLevel.Warning, Message = "Cancel of workflow {WorkflowId} asked by another node could not be confirmed")]
    private static partial void LogRemoteCancelFailed(ILogger logger, Exception exception, string workflowId);

    [LoggerMessage(EventId = 7205, Level = LogLevel.Warning, Message = "Redis is unreachable at start; this node takes shared work once it answers")]
    private static partial void LogSubscribeDeferred(ILogger logger, Exception exception);
}
