using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;

namespace Felix.Cli;

/// <summary>
/// One line per event, no colours or cursor moves: for pipes, logs and scripts. Each agent's whole text follows its
/// output line, indented (not its token deltas: agents run side by side, and their deltas would interleave).
/// </summary>
internal sealed class PlainRunDisplay(TextWriter output) : IRunDisplay
{
    public void Created(WorkflowResponse workflow) =>
        output.WriteLine($"Workflow {TerminalText.Line(workflow.WorkflowId)} ({TerminalText.Line(workflow.Status)}): {TerminalText.Line(workflow.Task)}");

    public async Task<WorkflowEvent?> FollowAsync(IAsyncEnumerable<WorkflowEvent> events, CancellationToken cancellationToken)
    {
        await foreach (var evt in events.WithCancellation(cancellationToken))
        {
            if (Describe(evt) is { } line)
            {
                output.WriteLine(line);
            }

            if (evt is AgentOutputEvent { Content.Length: > 0 } agent)
            {
                foreach (var text in TerminalText.Lines(agent.Content.Trim()).Split('\n'))
                {
                    output.WriteLine("  " + text);
                }
            }

            if (evt.IsTerminal)
            {
                return evt;
            }
        }

        return null;
    }

    public void Resuming(long afterSequence) => output.WriteLine($"Connection lost; resuming after event {afterSequence}");

    public void Waiting(System.Net.HttpStatusCode status, TimeSpan wait) => output.WriteLine(WorkflowFollower.WaitingLine(status, wait));

    public void Finished(WorkflowEvent? terminal)
    {
        switch (terminal)
        {
            case WorkflowCompleteEvent complete:
                output.WriteLine($"Synthesis (confidence {Format.Percent(complete.Synthesis.Confidence)}, {complete.Synthesis.AgentsSynthesized} agents):");
                output.WriteLine(TerminalText.Lines(complete.Synthesis.Content));
                output.WriteLine("Workflow completed");
                break;
            case WorkflowErrorEvent error:
                output.WriteLine($"Workflow failed: {TerminalText.Line(error.Error)}");
                break;
            case WorkflowStatusEvent { Status: WorkflowStatuses.Cancelled }:
                output.WriteLine("Workflow cancelled");
                break;
            default:
                output.WriteLine("The event stream ended before the workflow finished");
                break;
        }
    }

    private static string? Describe(WorkflowEvent evt) => evt switch
    {
        WorkflowStatusEvent { IsTerminal: false } e => $"Status: {TerminalText.Line(e.Status)}",
        AgentSpawnedEvent e => $"Agent spawned: {TerminalText.Line(e.AgentId)} ({TerminalText.Line(e.AgentType)}) at helix position {Format.Number(e.SpawnTime)}",
        AgentOutputEvent e => $"Agent output: {TerminalText.Line(e.AgentId)} ({TerminalText.Line(e.AgentType)}), confidence {Format.Percent(e.Confidence)}",
        WorkflowProgressEvent e => $"Progress: {Format.Number(e.Percent, "0")}% ({TerminalText.Line(e.Milestone)})",
        SynthesisStartedEvent e => $"Synthesis started with {e.AgentCount} agents",
        _ => null,
    };
}
