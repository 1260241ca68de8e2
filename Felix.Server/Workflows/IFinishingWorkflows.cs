namespace Felix.Server.Workflows;

/// <summary>
/// Finished workflows whose terminal event may not be in their stream yet. A workflow's record is finished a moment
/// before its terminal event is appended, so a process that stops in between leaves it finished with a stream that
/// never ends; recovery (<see cref="Storage.WorkflowRecovery"/>) reads these at start, however old they are, and
/// appends their end. Kept by the single-node stores; with Redis the dead-node sweep finds them through the owners of
/// the workflows (<see cref="Scaleout.NodeLeaseService"/>).
/// </summary>
internal interface IFinishingWorkflows
{
    /// <summary>
    /// At least every finished workflow whose stream does not end with its terminal event; a workflow whose end was
    /// appended may be listed too (the caller checks its stream), never one that has not finished.
    /// </summary>
    Task<IReadOnlyList<WorkflowRecord>> ListFinishingAsync(CancellationToken cancellationToken = default);

    /// <summary>The workflow's stream ends with its terminal event: it is no longer listed.</summary>
    Task ConfirmEndedAsync(string workflowId, CancellationToken cancellationToken = default);
}
