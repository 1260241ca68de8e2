using System.Collections.Concurrent;
using Felix.Contracts;

namespace Felix.Server.Workflows;

/// <summary>Keeps workflows in process memory.</summary>
internal sealed class InMemoryWorkflowStore : IWorkflowStore, IFinishingWorkflows
{
    private readonly ConcurrentDictionary<string, WorkflowRecord> _workflows = new(StringComparer.Ordinal);

    public Task CreateAsync(WorkflowRecord workflow, CancellationToken cancellationToken = default)
    {
        if (!_workflows.TryAdd(workflow.Id, workflow))
        {
            throw new InvalidOperationException($"Workflow {workflow.Id} already exists.");
        }

        return Task.CompletedTask;
    }

    public Task<WorkflowRecord?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        Task.FromResult(_workflows.GetValueOrDefault(id));

    public Task<WorkflowRecord?> UpdateAsync(string id, Func<WorkflowRecord, WorkflowRecord?> update, CancellationToken cancellationToken = default)
    {
        while (_workflows.TryGetValue(id, out var current))
        {
            var next = update(current);
            if (next is null)
            {
                return Task.FromResult<WorkflowRecord?>(null);
            }

            if (_workflows.TryUpdate(id, next, current))
            {
                return Task.FromResult<WorkflowRecord?>(next);
            }
        }

        return Task.FromResult<WorkflowRecord?>(null);
    }

    public Task<(IReadOnlyList<WorkflowRecord> Items, int Total)> ListAsync(string? status, string? owner, int page, int pageSize, CancellationToken cancellationToken = default)
    {
        var matching = _workflows.Values
            .Where(w => (status is null || w.Status == status) && (owner is null || w.Owner == owner))
            .OrderByDescending(w => w.CreatedAt)
            .ThenByDescending(w => w.Id, StringComparer.Ordinal)
            .ToList();
        // In long arithmetic, as the other stores page: a page far past the end must be empty, not wrap to the first.
        var skip = (long)(page - 1) * pageSize;
        IReadOnlyList<WorkflowRecord> items = skip >= matching.Count ? [] : matching.Skip((int)skip).Take(pageSize).ToList();
        return Task.FromResult((items, matching.Count));
    }

    /// <summary>
    /// Every finished workflow: nothing here outlives the process, so the recovery of a new one finds none, and a list
    /// kept for it would only cost every finish a write.
    /// </summary>
    public Task<IReadOnlyList<WorkflowRecord>> ListFinishingAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<WorkflowRecord>>(_workflows.Values.Where(w => WorkflowStatuses.IsTerminal(w.Status)).ToList());

    public Task ConfirmEndedAsync(string workflowId, CancellationToken cancellationToken = default) => Task.CompletedTask;
}
