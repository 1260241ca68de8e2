using Felix.Server.Platform;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Felix.Server.Scaleout;

/// <summary>
/// Keeps this node's lease alive and watches the others'. A workflow owned by a node whose lease expired is claimed by
/// one surviving node (compare-and-set on the owner) and goes back to the shared queue: pending, it runs; running, it
/// resumes from its history on the node that takes it (durable execution: committed agents are never run again).
/// The lease is renewed until the application has stopped, so a node finishing its runs in a graceful shutdown keeps
/// them. On the same beat it queues the workflows it holds but could not queue when Redis failed (<see cref="UnqueuedWorkflows"/>).
/// </summary>
internal sealed partial class NodeLeaseService(
    RedisConnection redis,
    IWorkflowStore store,
    IEventLog log,
    WorkflowEvents events,
    WorkflowRunner runner,
    WorkflowEngine engine,
    ScaleoutSignals signals,
    UnqueuedWorkflows unqueued,
    IOptions<ScaleoutOptions> options,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<NodeLeaseService> logger) : IHostedService
{
    private readonly FailureSpell _leaseFaults = new();

    private const string ClaimScript = """
        if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
            redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
            return 1
        end
        return 0
        """;

    private Task? _loop;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = RunAsync(lifetime.ApplicationStopped);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The loop ends by itself with ApplicationStopped. Called once the engine has drained (its runs finished, or were
    /// interrupted at the end of the grace period): the workflows this node still holds go back to the shared queue at
    /// once, so another node resumes them now rather than once this node's lease has expired.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var entry in await redis.Database.HashGetAllAsync(redis.Keys.Owners))
            {
                if (entry.Value == redis.NodeId)
                {
                    await HandBackAsync(entry.Name!, cancellationToken);
                }
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
            // Left to the lease: another node takes them over once it has expired (also when the connection is already
            // gone, as the host disposes it).
            LogHandBackFailed(logger, ex.GetType().Name);
        }
    }

    private async Task HandBackAsync(string workflowId, CancellationToken cancellationToken)
    {
        var workflow = await store.GetAsync(workflowId, cancellationToken);
        if (workflow is not null && workflow.Status is WorkflowStatuses.Pending or WorkflowStatuses.Running)
        {
            await QueueAtFrontAsync(workflow, cancellationToken);
            await redis.Subscriber.PublishAsync(redis.Keys.WorkChannel, workflowId);
            LogHandedBack(logger, workflowId, workflow.Status);
        }
    }

    /// <summary>
    /// Queues the workflows this node holds but could not queue (Redis failed after it stored or decided them, so no
    /// other node takes them while this one is alive). Each is checked first: gone, parked, running here (only a reply
    /// was lost, and this node took it), or no longer held by this node (queued, or claimed by another), it is dropped;
    /// finished and held here (a dead node's, claimed with the answer lost), its stream gets its end if it has none and
    /// the hold goes; the enqueue script checks the hold again in the same step as the push. A failure keeps the rest
    /// for the next beat.
    /// </summary>
    private async Task QueueUnqueuedAsync(CancellationToken cancellationToken)
    {
        if (unqueued.IsEmpty)
        {
            return;
        }

        foreach (var workflowId in unqueued.Snapshot())
        {
            try
            {
                var workflow = await store.GetAsync(workflowId, cancellationToken);
                if (workflow is null || engine.IsActive(workflowId) || workflow.Status == WorkflowStatuses.AwaitingApproval
                    || await redis.Database.HashGetAsync(redis.Keys.Owners, workflowId) != redis.NodeId)
                {
                    // Gone, running here (only a reply was lost, and this node took it), parked, or not held here.
                }
                else if (WorkflowStatuses.IsTerminal(workflow.Status))
                {
                    // A dead node's workflow claimed here (the claim's answer lost): finished, perhaps without its end, as
                    // the takeover would have found it.
                    if (await runner.EndStreamIfUnendedAsync(workflow, cancellationToken))
                    {
                        LogEndedLate(logger, workflowId, workflow.Status);
                    }

                    await redis.Database.HashDeleteAsync(redis.Keys.Owners, workflowId);
                }
                else if (await QueueAtFrontAsync(workflow, cancellationToken))
                {
                    signals.WakeQueue();
                    LogQueuedLate(logger, workflowId, workflow.Status);
                    await redis.Subscriber.PublishAsync(redis.Keys.WorkChannel, workflowId);
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Kept, with the rest, for the next beat.
                LogQueueLateFailed(logger, workflowId, ex.Message);
                return;
            }

            unqueued.Remove(workflowId);
        }
    }

    /// <summary>
    /// Puts a pending or running workflow this node holds at the front of the shared queue, letting go of the hold in
    /// the same step; a pending one whose first event was never written (its node died, or the append failed) gets it
    /// first: that event is the creation's, and a run never starts a stream (it would find the stream lost).
    /// </summary>
    private async Task<bool> QueueAtFrontAsync(WorkflowRecord workflow, CancellationToken cancellationToken)
    {
        if (workflow.Status == WorkflowStatuses.Pending && await log.GetStateAsync(workflow.Id, cancellationToken) is null)
        {
            await events.StatusChangedAsync(workflow.Id, WorkflowStatuses.Pending);
        }

        return await RedisWorkflowDispatcher.EnqueueAsync(redis, workflow.Id, workflow.Owner, front: true);
    }

    private async Task RunAsync(CancellationToken stopped)
    {
        var lease = options.Value.NodeLease;
        using var timer = new PeriodicTimer(lease / 3, time);
        try
        {
            do
            {
                try
                {
                    await redis.Database.StringSetAsync(redis.Keys.NodeLease(redis.NodeId), time.GetUtcNow().ToUnixTimeMilliseconds(), lease);
                    if (_leaseFaults.Ends())
                    {
                        LogLeaseRenewedAgain(logger);
                    }

                    await QueueUnqueuedAsync(stopped);
                    await SweepAsync(stopped);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    if (_leaseFaults.Begins())
                    {
                        LogLeaseUnavailable(logger, ex);
                    }
                    else
                    {
                        LogLeaseStillUnavailable(logger, ex.GetType().Name);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogSweepFailed(logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stopped));
        }
        catch (OperationCanceledException) when (stopped.IsCancellationRequested)
        {
        }
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var db = redis.Database;
        var alive = new Dictionary<string, bool>(StringComparer.Ordinal) { [redis.NodeId] = true };
        foreach (var entry in await db.HashGetAllAsync(redis.Keys.Owners))
        {
            string workflowId = entry.Name!;
            string node = entry.Value!;
            if (!alive.TryGetValue(node, out var isAlive))
            {
                alive[node] = isAlive = await db.KeyExistsAsync(redis.Keys.NodeLease(node));
            }

            if (isAlive)
            {
                continue;
            }

            try
            {
                if ((int)await db.ScriptEvaluateAsync(ClaimScript, [redis.Keys.Owners], [workflowId, node, redis.NodeId]) == 1)
                {
                    await TakeOverAsync(workflowId, node, cancellationToken);
                }
            }
            catch
            {
                // Redis may have run the claim with only its answer lost, or the claim held and the push after it failed:
                // then this live node holds a workflow that no sweep would take from it. Queued once Redis answers, if it
                // is held here (a hint: checked against the owner entry first).
                unqueued.Add(workflowId);
                throw;
            }
        }
    }

    private async Task TakeOverAsync(string workflowId, string deadNode, CancellationToken cancellationToken)
    {
        var db = redis.Database;
        var workflow = await store.GetAsync(workflowId, cancellationToken);
        if (workflow is not null && workflow.Status is WorkflowStatuses.Pending or WorkflowStatuses.Running)
        {
            // Pending, it runs (the dead node may have stored it, or let it go on with a decision, and died before queueing
            // it); running, the node that takes it resumes it from its history as a new attempt, whose fencing token makes
            // the event log refuse whatever the lost node still writes. The claim is let go in the same step as the push,
            // so a sweeper that dies here leaves the workflow claimed by a dead node, not lost.
            await QueueAtFrontAsync(workflow, cancellationToken);
            LogRequeued(logger, workflowId, workflow.Status, deadNode);
            signals.WakeQueue();
            return;
        }

        // Parked at an approval, nothing is to run until a decision, which holds and queues it: the claim is dropped.
        // The dead node finished the record but died before appending its end: its subscribers on every node would wait
        // for an end that nobody else would write.
        if (workflow is not null && WorkflowStatuses.IsTerminal(workflow.Status) && await runner.EndStreamIfUnendedAsync(workflow, cancellationToken))
        {
            LogStreamEnded(logger, workflowId, workflow.Status, deadNode);
        }

        await db.HashDeleteAsync(redis.Keys.Owners, workflowId);
    }


    [LoggerMessage(EventId = 7306, Level = LogLevel.Information, Message = "Workflow {WorkflowId} ({Status}) went back to the shared queue as this node stops; another node resumes it")]
    private static partial void LogHandedBack(ILogger logger, string workflowId, string status);

    [LoggerMessage(EventId = 7307, Level = LogLevel.Warning, Message = "This node's workflows could not be handed back as it stops ({Fault}); other nodes take them over once its lease expires")]
    private static partial void LogHandBackFailed(ILogger logger, string fault);

    [LoggerMessage(EventId = 7308, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} ({Status}) went to the shared queue once Redis answered; storage had failed before this node could queue it")]
    private static partial void LogQueuedLate(ILogger logger, string workflowId, string status);

    [LoggerMessage(EventId = 7312, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} was {Status} but had no terminal event; appended it once Redis answered")]
    private static partial void LogEndedLate(ILogger logger, string workflowId, string status);

    [LoggerMessage(EventId = 7309, Level = LogLevel.Debug, Message = "Workflow {WorkflowId} could not be queued yet ({Fault}); tried again at the next beat")]
    private static partial void LogQueueLateFailed(ILogger logger, string workflowId, string fault);

    [LoggerMessage(EventId = 7305, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} was {Status} but dead node {NodeId} had not appended its terminal event; appended it")]
    private static partial void LogStreamEnded(ILogger logger, string workflowId, string status, string nodeId);

    [LoggerMessage(EventId = 7302, Level = LogLevel.Warning, Message = "Workflow {WorkflowId} ({Status}) of dead node {NodeId} went back to the shared queue")]
    private static partial void LogRequeued(ILogger logger, string workflowId, string status, string nodeId);

    [LoggerMessage(EventId = 7310, Level = LogLevel.Debug, Message = "Still cannot renew this node's lease ({Fault})")]
    private static partial void LogLeaseStillUnavailable(ILogger logger, string fault);

    [LoggerMessage(EventId = 7311, Level = LogLevel.Information, Message = "This node's lease is renewed again")]
    private static partial void LogLeaseRenewedAgain(ILogger logger);

    [LoggerMessage(EventId = 7303, Level = LogLevel.Warning, Message = "Could not renew this node's lease: Redis is unreachable")]
    private static partial void LogLeaseUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7304, Level = LogLevel.Error, Message = "The sweep for dead nodes' workflows failed")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
