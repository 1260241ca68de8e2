namespace Felix.Client;

/// <summary>
/// The server could not resume the workflow's stream where the watch left it: its history was lost or truncated, so the
/// events would have a gap. Thrown only with <see cref="EpochChangeBehavior.Throw"/>.
/// </summary>
public sealed class FelixStreamResetException(string workflowId, string? previousEpoch, string currentEpoch, long lastSequence)
    : Exception($"The event stream of workflow '{workflowId}' was reset (epoch {previousEpoch ?? "unknown"} -> {currentEpoch}); it cannot resume after sequence {lastSequence}.")
{
    /// <summary>The workflow.</summary>
    public string WorkflowId { get; } = workflowId;

    /// <summary>The epoch the watch was reading, if it knew one.</summary>
    public string? PreviousEpoch { get; } = previousEpoch;

    /// <summary>The server's current epoch.</summary>
    public string CurrentEpoch { get; } = currentEpoch;

    /// <summary>The last sequence the watch delivered.</summary>
    public long LastSequence { get; } = lastSequence;
}
