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
    /// Takes charge of a workflow that storage failed to hand on: stored (or let go on by a decision), perhaps, but its
    /// first event or its dispatch failed, or the reply was lost. Scale-out queues it once Redis answers, writing its
    /// first event when it is missing, if it is stored, pending or running, and still held by this node; one process
    /// leaves it to recovery at the next start.
    /// </summary>
    void DispatchLater(string workflowId);

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

    public void DispatchLater(string workflowId)
    {
        // Recovery at the next start queues every pending or running workflow.
    }

    public Task? CancelElsewhere(string workflowId, string cancelledBy) => null;
}
