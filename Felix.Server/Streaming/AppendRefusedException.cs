namespace Felix.Server.Streaming;

/// <summary>Why an event log refused an append.</summary>
internal enum AppendRefusal
{
    /// <summary>The stream already has its terminal event: nothing is ever appended after it.</summary>
    StreamEnded,

    /// <summary>A newer run attempt of the workflow has written: this run's fencing token is stale.</summary>
    StaleRun,

    /// <summary>
    /// A run wrote to a stream that storage no longer has (a Redis without persistence that came back empty): the
    /// workflow was lost, and a stream started over under a new epoch would pass for it.
    /// </summary>
    StreamLost,
}

/// <summary>
/// An append the event log refused (see <see cref="IEventLog.AppendAsync"/>). Nothing of it was stored or delivered; the
/// writer that gets it stops writing to that stream.
/// </summary>
internal sealed class AppendRefusedException(string workflowId, AppendRefusal reason)
    : Exception(reason switch
    {
        AppendRefusal.StreamEnded => $"The stream of workflow {workflowId} has ended; nothing more is appended to it.",
        AppendRefusal.StreamLost => $"The stream of workflow {workflowId} is gone from storage; a run does not start it again.",
        _ => $"A newer run of workflow {workflowId} owns its stream; this run's writes are refused.",
    })
{
    public string WorkflowId { get; } = workflowId;

    public AppendRefusal Reason { get; } = reason;
}
