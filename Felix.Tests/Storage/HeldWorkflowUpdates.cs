using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Storage;

/// <summary>
/// Wraps the registered workflow store (the real one) and, once armed, holds the next record update until the test lets
/// it go. A test breaks the store meanwhile (fills its disk), so that update meets the real fault, at a point no timing
/// could reach reliably: here, the runner taking a workflow it was just handed.
/// </summary>
internal sealed class HeldWorkflowUpdates
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _armed;
    private Action? _afterUpdate;

    /// <summary>Completes when the held update has started.</summary>
    public Task Entered => _entered.Task;

    /// <summary>Holds the next update of any workflow, and only that one.</summary>
    public void ArmNext() => Volatile.Write(ref _armed, 1);

    public void Release() => _gate.TrySetResult();

    /// <summary>
    /// Lets the held update go to the store; once the store has answered (or failed), and before the caller sees the
    /// outcome, runs <paramref name="afterUpdate"/>: mends the store right after an update met the fault, say.
    /// </summary>
    public void Release(Action afterUpdate)
    {
        _afterUpdate = afterUpdate;
        _gate.TrySetResult();
    }

    public void Install(IServiceCollection services) => DelegatingWorkflowStore.Decorate(services, inner => new Store(inner, this));

    private sealed class Store(IWorkflowStore inner, HeldWorkflowUpdates held) : DelegatingWorkflowStore(inner)
    {
        public override async Task<WorkflowRecord?> UpdateAsync(string id, Func<WorkflowRecord, WorkflowRecord?> update, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref held._armed, 0) != 1)
            {
                return await Inner.UpdateAsync(id, update, cancellationToken);
            }

            held._entered.TrySetResult();
            await held._gate.Task;
            try
            {
                return await Inner.UpdateAsync(id, update, cancellationToken);
            }
            finally
            {
                held._afterUpdate?.Invoke();
            }
        }
    }
}
