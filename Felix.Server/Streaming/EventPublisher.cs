using System.Runtime.CompilerServices;
using Felix.Contracts.Events;
using Felix.Server.Observability;

namespace Felix.Server.Streaming;

/// <summary>
/// The way events enter and leave the streams: publish stamps an event, appends it through the broker's log (which, in
/// scale-out, also publishes it to the other nodes in the same step) and hands it to this node's listeners; subscribe
/// and join attach a listener at a position. One workflow's events are published one at a time.
/// </summary>
internal sealed class EventPublisher(IEventLog log, LocalFanout fanout, TimeProvider time, FelixMetrics metrics)
{
    /// <summary>
    /// Publishes <paramref name="evt"/> for its workflow and returns it stamped. Returns once the event is in the log and
    /// queued on every transport. <paramref name="fence"/> is the writing run's fencing token (0 outside a run); an append
    /// the log refuses (<see cref="AppendRefusedException"/>) reaches no transport. The cancellation token only stops
    /// waiting for the workflow's turn.
    /// </summary>
    public ValueTask<WorkflowEvent> PublishAsync(WorkflowEvent evt, long fence = 0, CancellationToken cancellationToken = default) =>
        fanout.PublishAsync(evt.WorkflowId, static s => s.Publisher.AppendAsync(s.Event, s.Fence), (Publisher: this, Event: evt, Fence: fence), cancellationToken);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<WorkflowEvent> AppendAsync(WorkflowEvent evt, long fence)
    {
        evt.Timestamp = Timestamps.Now(time);
        // The append and the fan-out are not cancellable: half a publish would leave a gap in what clients saw.
        await log.AppendAsync(evt, fence, CancellationToken.None);
        metrics.Published();
        return evt;
    }

    /// <inheritdoc cref="LocalFanout.SubscribeAsync"/>
    public Task<EventSubscription> SubscribeAsync(string workflowId, string? epoch, long? afterSequence, CancellationToken cancellationToken = default) =>
        fanout.SubscribeAsync(workflowId, epoch, afterSequence, cancellationToken);

    /// <inheritdoc cref="LocalFanout.JoinAsync(string, Func{Task}, CancellationToken)"/>
    public Task<StreamState?> JoinAsync(string workflowId, Func<Task> join, CancellationToken cancellationToken = default) =>
        fanout.JoinAsync(workflowId, join, cancellationToken);

    /// <inheritdoc cref="LocalFanout.EndLostAsync"/>
    public Task EndLostAsync(string workflowId, CancellationToken cancellationToken = default) => fanout.EndLostAsync(workflowId, cancellationToken);

    /// <inheritdoc cref="LocalFanout.ForgetFinished"/>
    public void ForgetFinished(string workflowId) => fanout.ForgetFinished(workflowId);
}
