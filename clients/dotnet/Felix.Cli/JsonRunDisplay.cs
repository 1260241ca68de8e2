using Felix.Contracts.Dtos;
using Felix.Contracts.Events;

namespace Felix.Cli;

/// <summary>
/// <c>--json</c>: every event as one line of JSON (NDJSON) on stdout, nothing else there, so <c>jq</c> and scripts can read
/// it line by line. Every event carries its <c>workflowId</c>; notes for people (a resume) go to stderr.
/// </summary>
internal sealed class JsonRunDisplay(TextWriter output, TextWriter error) : IRunDisplay
{
    public void Created(WorkflowResponse workflow)
    {
    }

    public async Task<WorkflowEvent?> FollowAsync(IAsyncEnumerable<WorkflowEvent> events, CancellationToken cancellationToken)
    {
        await foreach (var evt in events.WithCancellation(cancellationToken))
        {
            CliJson.WriteLine(output, evt, CliJson.Events);
            if (evt.IsTerminal)
            {
                return evt;
            }
        }

        return null;
    }

    public void Resuming(long afterSequence) => error.WriteLine($"Connection lost; resuming after event {afterSequence}");

    public void Waiting(System.Net.HttpStatusCode status, TimeSpan wait) => error.WriteLine(WorkflowFollower.WaitingLine(status, wait));

    public void Finished(WorkflowEvent? terminal)
    {
    }
}
