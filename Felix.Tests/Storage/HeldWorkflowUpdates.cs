using Felix.Server.Workflows;
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

    /// <summary>Completes when the held update has started.</summary>
    public Task Entered => _entered.Task;

    /// <summary>Holds the next update of any workflow, and only that one.</summary>
    public void ArmNext() => Volatile.Write(ref _armed, 1);

    public void Release() => _gate.TrySetResult();

    public void Install(IServiceCollection services)
    {
        var original = services.Last(d => d.ServiceType == typeof(IWorkflowStore));
        services.Remove(original);
        services.AddSingleton<IWorkflowStore>(sp => new Store((IWorkflowStore)original.ImplementationFactory!(sp), this));
    }

    private sealed class Store(IWorkflowStore inner, HeldWorkflowUpdates held) : IWorkflowStore
    {
        public Task CreateAsync(WorkflowRecord workflow, CancellationToken cancellationToken = default) => inner.CreateAsync(workflow, cancellationToken);

        public Task<WorkflowRecord?> GetAsync(string id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

        public async Task<WorkflowRecord?> UpdateAsync(string id, Func<WorkflowRecord, WorkflowRecord?> update, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref held._armed, 0) == 1)
            {
                held._entered.TrySetResult();
                await held._gate.Task;
            }

            return await inner.UpdateAsync(id, update, cancellationToken);
        }

        public Task<(IReadOnlyList<WorkflowRecord> Items, int Total)> ListAsync(string? status, string? owner, int page, int pageSize, CancellationToken cancellationToken = default) =>
            inner.ListAsync(status, owner, page, pageSize, cancellationToken);
    }
}
