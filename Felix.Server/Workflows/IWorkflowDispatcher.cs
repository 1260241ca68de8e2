namespace Felix.Server.Workflows;

/// <summary>
/// Where a created workflow goes to be run, and how a run that this process is not running is asked to stop. The default
/// hands work to this process's engine; a scale-out backend shares it between nodes.
/// </summary>
internal interface IWorkflowDispatcher
{
    /// <summary>
    /// Hands a stored, pending workflow to be run; <paramref name="tenant"/> took a slot for it with
    /// <see cref="WorkflowQueue.TryReserve"/>.
    /// </summary>
    ValueTask DispatchAsync(string workflowId, string tenant, CancellationToken cancellationToken = default);

    /// <summary>
    /// Asks whichever other process runs <paramref name="workflowId"/> to stop it on behalf of <paramref name="cancelledBy"/>
    /// (that run withdraws its pending requests under this name); the task completes once its work has stopped (or no
    /// process claims it). Null when no other process can be running it.
    /// </summary>
    Task? CancelElsewhere(string workflowId, string cancelledBy);
}

/// <summary>One process: the local engine runs everything.</summary>
internal sealed class LocalWorkflowDispatcher(WorkflowQueue queue) : IWorkflowDispatcher
{
    public ValueTask DispatchAsync(string workflowId, string tenant, CancellationToken cancellationToken = default)
    {
        queue.Enqueue(tenant, workflowId);
        return ValueTask.CompletedTask;
    }

    public Task? CancelElsewhere(string workflowId, string cancelledBy) => null;
}
