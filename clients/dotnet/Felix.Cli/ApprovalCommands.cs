using System.CommandLine;
using System.Net;
using Felix.Client;
using Felix.Contracts;
using Felix.Contracts.Dtos;

namespace Felix.Cli;

/// <summary>
/// <c>felix approve|reject|revise ID [APPROVAL_ID] [--comment TEXT]</c>: decides a waiting step. Without an approval id
/// it decides the workflow's pending request.
/// </summary>
internal static class ApprovalCommands
{
    public static Command Create(
        string decision, string description, Func<ParseResult, string?, CliSettings> settings, TextWriter output, TextWriter error)
    {
        var id = new Argument<string>("id") { Description = "Workflow id (wf_...)" };
        var approvalId = new Argument<string?>("approval-id") { Description = "The request to decide (default: the pending one)", Arity = ArgumentArity.ZeroOrOne };
        var comment = new Option<string?>("--comment", "-m")
        {
            Description = decision == ApprovalDecisions.Revise ? "What the step should change (required)" : "Why",
            Required = decision == ApprovalDecisions.Revise,
        };
        var command = new Command(decision, description) { id, approvalId, comment };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cli = settings(parse, null);
            using var client = cli.CreateClient();
            var workflowId = parse.GetValue(id)!;
            try
            {
                var target = parse.GetValue(approvalId) ?? await PendingAsync(client, workflowId, cancellationToken);
                if (target is null)
                {
                    error.WriteLine($"Error: workflow {workflowId} has no pending approval request.");
                    return ExitCodes.WorkflowFailed;
                }

                var resolution = await client.DecideApprovalAsync(workflowId, target, decision, parse.GetValue(comment), cancellationToken);
                output.WriteLine($"Approval {TerminalText.Line(resolution.ApprovalId)} of {TerminalText.Line(workflowId)}: {TerminalText.Line(resolution.Decision)} by {TerminalText.Line(resolution.DecidedBy)}");
                return ExitCodes.Ok;
            }
            catch (FelixApiException api) when (api.StatusCode == HttpStatusCode.Forbidden)
            {
                // The key is valid; it lacks the approve scope. Say so rather than blaming the key.
                error.WriteLine($"Error: {TerminalText.Line(api.Detail ?? api.Message)}");
                return ExitCodes.AuthenticationFailed;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return CliErrors.Report(ex, cli, error);
            }
        });
        return command;
    }

    private static async Task<string?> PendingAsync(FelixClient client, string workflowId, CancellationToken cancellationToken) =>
        (await client.ListApprovalsAsync(workflowId, cancellationToken)).Approvals.LastOrDefault(a => a.Status == ApprovalInfo.Pending)?.ApprovalId;
}
