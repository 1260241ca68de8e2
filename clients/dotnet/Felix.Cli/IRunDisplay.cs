using Felix.Contracts.Dtos;
using Felix.Contracts.Events;

namespace Felix.Cli;

/// <summary>Shows a workflow run: live on a terminal (<see cref="LiveRunDisplay"/>) or as plain lines (<see cref="PlainRunDisplay"/>).</summary>
internal interface IRunDisplay
{
    void Created(WorkflowResponse workflow);

    /// <summary>Shows every event until the terminal one; returns the terminal event, or null if the stream ended without one.</summary>
    Task<WorkflowEvent?> FollowAsync(IAsyncEnumerable<WorkflowEvent> events, CancellationToken cancellationToken);

    void Resuming(long afterSequence);

    /// <summary>The server refused the watch for now (503 draining or busy, 429) and asked it to wait this long.</summary>
    void Waiting(System.Net.HttpStatusCode status, TimeSpan wait);

    void Finished(WorkflowEvent? terminal);
}
