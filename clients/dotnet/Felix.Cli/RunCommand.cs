using System.CommandLine;
using Spectre.Console;

namespace Felix.Cli;

/// <summary><c>felix run "task"</c>: start a workflow, follow it live, print the synthesis and its confidence.</summary>
internal static class RunCommand
{
    public static Command Create(Func<ParseResult, string?, CliSettings> settings, TextWriter output, TextWriter error)
    {
        var task = new Argument<string?>("task") { Description = "What the agents should work on", Arity = ArgumentArity.ZeroOrOne };
        var maxSteps = CliOptions.WholeNumber("--max-steps", "Most agents to spawn (1-50; server default when absent)");
        var example = CliOptions.WholeNumber("--example", $"Run example task N (1-{ExampleTasks.All.Count}; see 'felix examples')", max: ExampleTasks.All.Count);
        var noLive = CliOptions.NoLive();
        var json = CliOptions.Json("Print each event as one line of JSON (NDJSON) instead of text");
        var protocol = CliOptions.Protocol();
        var command = new Command("run", "Start a workflow and watch it live") { task, maxSteps, example, noLive, json, protocol };
        command.Validators.Add(result =>
        {
            // Whether --example was given, not its value: a value that is not a number has its own error already.
            if (result.GetResult(example) is not null && !string.IsNullOrWhiteSpace(result.GetValue(task)))
            {
                result.AddError("Give a task or --example, not both.");
            }
        });
        command.SetAction((parse, cancellationToken) =>
        {
            var text = parse.GetValue(task) is { Length: > 0 } given ? given
                : parse.GetValue(example) is { } n ? ExampleTasks.All[n - 1]
                : OffersExamples(parse.GetValue(json), Console.IsInputRedirected, Console.IsOutputRedirected, AnsiConsole.Profile.Capabilities.Interactive)
                    ? AnsiConsole.Prompt(new SelectionPrompt<string>().Title("Pick an example task").AddChoices(ExampleTasks.All))
                : null;
            if (text is null)
            {
                error.WriteLine("Error: give a task (felix run \"task\") or --example N. Run 'felix examples' to see them.");
                return Task.FromResult(ExitCodes.Usage);
            }

            var display = WorkflowFollower.ChooseDisplay(parse.GetValue(json), parse.GetValue(noLive), output, error);
            return RunAsync(settings(parse, parse.GetValue(protocol)), text, parse.GetValue(maxSteps), display, error, cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// Whether <c>run</c> without a task asks which example to run: only when someone can answer (input and output are an
    /// interactive terminal), with or without the live view, and not for <c>--json</c>, whose stdout is for a script.
    /// </summary>
    internal static bool OffersExamples(bool json, bool inputRedirected, bool outputRedirected, bool interactive) =>
        !json && !inputRedirected && !outputRedirected && interactive;

    private static async Task<int> RunAsync(
        CliSettings settings, string task, int? maxSteps, IRunDisplay display, TextWriter error, CancellationToken cancellationToken)
    {
        using var client = settings.CreateClient();
        try
        {
            var workflow = await client.CreateWorkflowAsync(task, maxSteps, cancellationToken);
            display.Created(workflow);
            return await WorkflowFollower.FollowAsync(client, workflow.WorkflowId, display, error, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            error.WriteLine("Interrupted before the server answered: the workflow may have been created ('felix list' shows it).");
            return ExitCodes.Interrupted;
        }
        catch (Exception ex)
        {
            return CliErrors.Report(ex, settings, error);
        }
    }
}
