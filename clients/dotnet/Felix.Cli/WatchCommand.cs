using System.CommandLine;

namespace Felix.Cli;

/// <summary>
/// <c>felix watch ID</c>: follow a workflow that is already running (or replay a finished one) from the start of its
/// history, with the same display, resume and exit codes as <c>run</c>.
/// </summary>
internal static class WatchCommand
{
    public static Command Create(Func<ParseResult, string?, CliSettings> settings, TextWriter output, TextWriter error)
    {
        var id = new Argument<string>("id") { Description = "Workflow id (wf_...)" };
        var noLive = CliOptions.NoLive();
        var json = CliOptions.Json("Print each event as one line of JSON (NDJSON) instead of text");
        var protocol = CliOptions.Protocol();
        var command = new Command("watch", "Follow a workflow live until it ends (from the start of its history)") { id, noLive, json, protocol };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = settings(parse, parse.GetValue(protocol));
            var display = WorkflowFollower.ChooseDisplay(parse.GetValue(json), parse.GetValue(noLive), output, error);
            using var client = cli.CreateClient();
            try
            {
                // The snapshot first: an unknown id fails here with the server's 404, before any hub connection.
                display.Created(await client.GetWorkflowAsync(parse.GetValue(id)!, cancellationToken));
                return await WorkflowFollower.FollowAsync(client, parse.GetValue(id)!, display, error, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return ExitCodes.Interrupted;
            }
            catch (Exception ex)
            {
                return CliErrors.Report(ex, cli, error);
            }
        });
        return command;
    }
}
