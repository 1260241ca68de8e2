using System.CommandLine;
using System.CommandLine.Help;
using Felix.Client;
using Felix.Contracts;

namespace Felix.Cli;

/// <summary>The <c>felix</c> command line: <c>run</c>, <c>watch</c>, <c>examples</c>, <c>get</c>, <c>list</c>, <c>cancel</c>.</summary>
internal static class FelixCommands
{
    public const string UrlVariable = "FELIX_URL";
    public const string ApiKeyVariable = "FELIX_API_KEY";

    private static readonly Option<Uri> Url = new("--url")
    {
        Description = $"Server address (default: ${UrlVariable} or {FelixClientOptions.DefaultBaseAddress})",
        Recursive = true,
        DefaultValueFactory = _ => new Uri(Environment.GetEnvironmentVariable(UrlVariable) is { Length: > 0 } url ? url : FelixClientOptions.DefaultBaseAddress),
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            {
                return uri;
            }

            result.AddError($"--url must be an absolute http or https address, not '{text}'.");
            return null;
        },
    };

    // No default value: help prints an option's default, and the key is a secret. The variable is read in Settings.
    private static readonly Option<string?> ApiKey = new("--api-key")
    {
        Description = $"API key (default: ${ApiKeyVariable})",
        Recursive = true,
    };

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("felix: run Felix Server workflows and watch them live.");
        root.Options.Add(Url);
        root.Options.Add(ApiKey);
        root.Subcommands.Add(RunCommand.Create(Settings, output, error));
        root.Subcommands.Add(WatchCommand.Create(Settings, output, error));
        root.Subcommands.Add(CreateExamplesCommand(output));
        root.Subcommands.Add(WorkflowCommands.CreateGet(Settings, output, error));
        root.Subcommands.Add(WorkflowCommands.CreateList(Settings, output, error));
        root.Subcommands.Add(WorkflowCommands.CreateCancel(Settings, output, error));
        root.Subcommands.Add(ApprovalCommands.Create(ApprovalDecisions.Approve, "Approve a waiting step: the workflow goes on", Settings, output, error));
        root.Subcommands.Add(ApprovalCommands.Create(ApprovalDecisions.Reject, "Reject a waiting step: the workflow ends cancelled", Settings, output, error));
        root.Subcommands.Add(ApprovalCommands.Create(ApprovalDecisions.Revise, "Send a waiting step back with a remark: it runs again", Settings, output, error));

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var parseError in parse.Errors)
            {
                error.WriteLine($"Error: {parseError.Message}");
            }

            error.WriteLine("Run 'felix --help' for usage.");
            return ExitCodes.Usage;
        }

        if (parse.Action is HelpAction help && parse.CommandResult.Command == root)
        {
            return CommandListing.WriteRootHelp(parse, help, output, error);
        }

        return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }

    /// <summary>Where to connect, and with which hub protocol for the commands that take <c>--protocol</c>.</summary>
    private static CliSettings Settings(ParseResult parse, string? protocol) =>
        new(parse.GetValue(Url)!, parse.GetValue(ApiKey) ?? (Environment.GetEnvironmentVariable(ApiKeyVariable) is { Length: > 0 } key ? key : null),
            CliOptions.ProtocolOf(protocol));

    private static Command CreateExamplesCommand(TextWriter output)
    {
        var command = new Command("examples", "List the example tasks (use with run --example N)");
        command.SetAction(_ =>
        {
            for (var i = 0; i < ExampleTasks.All.Count; i++)
            {
                output.WriteLine($"{i + 1}. {ExampleTasks.All[i]}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
