using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Spectre.Console;

namespace Felix.Cli;

/// <summary>
/// The terminal view of a run: an overall progress bar fed by <c>workflow_progress</c>, one row per agent as it spawns with
/// the tail of its streamed text, then the synthesis in a panel with its confidence.
/// </summary>
internal sealed class LiveRunDisplay(IAnsiConsole console) : IRunDisplay
{
    // Enough of an agent's latest text to follow it without wrapping on an 80-column terminal.
    private const int TextTailLength = 48;

    private ProgressTask? _overall;

    public void Created(WorkflowResponse workflow) =>
        console.MarkupLine($"[bold]Workflow[/] {Markup.Escape(TerminalText.Line(workflow.WorkflowId))}: {Markup.Escape(TerminalText.Line(workflow.Task))}");

    public Task<WorkflowEvent?> FollowAsync(IAsyncEnumerable<WorkflowEvent> events, CancellationToken cancellationToken) =>
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                _overall = context.AddTask("[bold]Workflow[/] pending", maxValue: 100);
                var agents = new Dictionary<string, AgentRow>(StringComparer.Ordinal);
                await foreach (var evt in events.WithCancellation(cancellationToken))
                {
                    Show(context, agents, evt);
                    if (evt.IsTerminal)
                    {
                        _overall.Value = 100;
                        _overall.StopTask();
                        return evt;
                    }
                }

                return (WorkflowEvent?)null;
            });

    public void Resuming(long afterSequence)
    {
        if (_overall is not null)
        {
            _overall.Description = $"[yellow]reconnecting, resuming after event {afterSequence}[/]";
        }
    }

    public void Waiting(System.Net.HttpStatusCode status, TimeSpan wait)
    {
        if (_overall is not null)
        {
            _overall.Description = $"[yellow]{Markup.Escape(WorkflowFollower.WaitingLine(status, wait))}[/]";
        }
    }

    public void Finished(WorkflowEvent? terminal)
    {
        switch (terminal)
        {
            case WorkflowCompleteEvent complete:
                var header = $"Synthesis · confidence {Format.Percent(complete.Synthesis.Confidence)} · {complete.Synthesis.AgentsSynthesized} agents";
                console.Write(new Panel(new Text(TerminalText.Lines(complete.Synthesis.Content))).Header(Markup.Escape(header)).Expand());
                console.MarkupLine("[green]Workflow completed[/]");
                break;
            case WorkflowErrorEvent error:
                console.MarkupLine($"[red]Workflow failed:[/] {Markup.Escape(TerminalText.Line(error.Error))}");
                break;
            case WorkflowStatusEvent { Status: WorkflowStatuses.Cancelled }:
                console.MarkupLine("[yellow]Workflow cancelled[/]");
                break;
            default:
                console.MarkupLine("[yellow]The event stream ended before the workflow finished[/]");
                break;
        }
    }

    private void Show(ProgressContext context, Dictionary<string, AgentRow> agents, WorkflowEvent evt)
    {
        switch (evt)
        {
            case WorkflowStatusEvent e:
                _overall!.Description = $"[bold]Workflow[/] {Markup.Escape(TerminalText.Line(e.Status))}";
                break;
            case WorkflowProgressEvent e:
                _overall!.Value = e.Percent;
                _overall.Description = $"[bold]Workflow[/] {Markup.Escape(TerminalText.Line(e.Milestone))}";
                break;
            case AgentSpawnedEvent e:
                var row = new AgentRow(e.AgentId, e.AgentType, context.AddTask(Markup.Escape(TerminalText.Line(e.AgentId)), maxValue: 1));
                row.Task.IsIndeterminate = true;
                agents[e.AgentId] = row;
                row.Render();
                break;
            case AgentOutputDeltaEvent e when agents.TryGetValue(e.AgentId, out var streaming):
                streaming.Text.Append(e.Delta);
                streaming.Render();
                break;
            case AgentOutputEvent e when agents.TryGetValue(e.AgentId, out var done):
                done.Confidence = e.Confidence;
                done.Task.IsIndeterminate = false;
                done.Task.Value = 1;
                done.Render();
                break;
            case SynthesisStartedEvent e:
                _overall!.Description = $"[bold]Workflow[/] synthesizing {e.AgentCount} agents";
                break;
        }
    }

    private sealed class AgentRow(string id, string type, ProgressTask task)
    {
        public ProgressTask Task { get; } = task;
        public System.Text.StringBuilder Text { get; } = new();
        public double? Confidence { get; set; }

        public void Render()
        {
            var text = TerminalText.Line(Text.ToString().ReplaceLineEndings(" "));
            var tail = text.Length > TextTailLength ? "…" + text[^TextTailLength..] : text;
            var confidence = Confidence is { } c ? $" [green]{Format.Percent(c)}[/]" : "";
            Task.Description = $"  [cyan]{Markup.Escape(TerminalText.Line(id))}[/] ({Markup.Escape(TerminalText.Line(type))}){confidence} [grey]{Markup.Escape(tail)}[/]";
        }
    }
}
