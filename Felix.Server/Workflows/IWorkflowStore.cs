namespace Felix.Server.Workflows;

/// <summary>Where workflows are kept.</summary>
internal interface IWorkflowStore
{
    /// <summary>Adds a new workflow; its id must be new.</summary>
    Task CreateAsync(WorkflowRecord workflow, CancellationToken cancellationToken = default);

    Task<WorkflowRecord?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies <paramref name="update"/> atomically with respect to other updates of the same workflow. The function may
    /// decline by returning null (for a status change that no longer applies). Returns the stored result, or null when
    /// the workflow is unknown or the update declined.
    /// </summary>
    Task<WorkflowRecord?> UpdateAsync(string id, Func<WorkflowRecord, WorkflowRecord?> update, CancellationToken cancellationToken = default);

    /// <summary>Workflows newest first, optionally of one status and one owner; <paramref name="page"/> counts from 1.</summary>
    Task<(IReadOnlyList<WorkflowRecord> Items, int Total)> ListAsync(string? status, string? owner, int page, int pageSize, CancellationToken cancellationToken = default);
}
