using Felix.Contracts;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Approvals;

/// <summary>
/// Wraps the registered workflow store (the real one) and, once armed, holds one record update of the approval gate
/// until the test lets it go: the one that stores a new request (held before it is written, so the run stands at the
/// gate with nothing stored, or after, so the request is pending while the run has not announced it yet), or the one
/// that parks the run. A test takes a decision or a cancel meanwhile, at a point of the gate no timing could reach
/// reliably.
/// </summary>
internal sealed class HeldGateUpdates
{
    public enum Point
    {
        /// <summary>
        /// The update that would store a new request, not yet written: the run stands at the gate of a running workflow.
        /// Found by trying the update on the record as it is (the gate's update is a pure function of the record).
        /// </summary>
        Requesting,

        /// <summary>The update that stored a new request has been written; the run has not announced it.</summary>
        RequestStored,

        /// <summary>The update that would park the run (its request pending, the workflow running), not yet written.</summary>
        Parking,
    }

    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _armed = -1;

    /// <summary>Completes when the held update has been reached.</summary>
    public Task Entered => _entered.Task;

    /// <summary>Holds the first gate update at <paramref name="point"/> of any workflow, and only that one.</summary>
    public void Arm(Point point) => Volatile.Write(ref _armed, (int)point);

    public void Release() => _gate.TrySetResult();

    /// <summary>
    /// Lets the held update go as a stopping node's would: cancelled, nothing written. With the run's token cancelled
    /// too (the engine stopping), the run leaves the workflow where it was, which is what a crash at that point leaves.
    /// </summary>
    public void Abandon() => _gate.TrySetException(new OperationCanceledException("The node stopped here."));

    public void Install(IServiceCollection services) => DelegatingWorkflowStore.Decorate(services, inner => new Store(inner, this));

    private bool IsArmedFor(Point point) => Volatile.Read(ref _armed) == (int)point;

    private bool TakeHold(Point point) => Interlocked.CompareExchange(ref _armed, -1, (int)point) == (int)point;

    private static int Pending(WorkflowRecord? workflow) => workflow?.Approvals.Count(a => a.IsPending) ?? 0;

    private sealed class Store(IWorkflowStore inner, HeldGateUpdates held) : DelegatingWorkflowStore(inner)
    {
        public override async Task<WorkflowRecord?> UpdateAsync(string id, Func<WorkflowRecord, WorkflowRecord?> update, CancellationToken cancellationToken = default)
        {
            if (held.IsArmedFor(Point.Requesting)
                && await Inner.GetAsync(id, cancellationToken) is { Status: WorkflowStatuses.Running } current
                && Pending(update(current)) > Pending(current)
                && held.TakeHold(Point.Requesting))
            {
                held._entered.TrySetResult();
                await held._gate.Task;
                return await Inner.UpdateAsync(id, update, cancellationToken);
            }

            if (held.IsArmedFor(Point.Parking)
                && await Inner.GetAsync(id, cancellationToken) is { Status: WorkflowStatuses.Running } running && Pending(running) > 0
                && held.TakeHold(Point.Parking))
            {
                held._entered.TrySetResult();
                await held._gate.Task;
                return await Inner.UpdateAsync(id, update, cancellationToken);
            }

            if (!held.IsArmedFor(Point.RequestStored))
            {
                return await Inner.UpdateAsync(id, update, cancellationToken);
            }

            var before = Pending(await Inner.GetAsync(id, cancellationToken));
            var updated = await Inner.UpdateAsync(id, update, cancellationToken);
            if (updated is { Status: WorkflowStatuses.Running } && Pending(updated) > before && held.TakeHold(Point.RequestStored))
            {
                held._entered.TrySetResult();
                await held._gate.Task;
            }

            return updated;
        }
    }
}
