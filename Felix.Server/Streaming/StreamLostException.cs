namespace Felix.Server.Streaming;

/// <summary>
/// The workflow's record and history were lost with storage (a Redis without persistence came back empty): its stream
/// can never go on, and a subscriber is told so instead of waiting for events that will not come.
/// </summary>
internal sealed class StreamLostException(string workflowId)
    : Exception($"Workflow '{workflowId}' was lost: its record and history were lost with storage.");
