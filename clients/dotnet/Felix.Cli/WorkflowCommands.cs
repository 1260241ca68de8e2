using System.CommandLine;
using Felix.Contracts;
using Felix.Contracts.Dtos;

namespace Felix.Cli;

/// <summary><c>felix get ID</c>, <c>felix list</c>, <c>felix cancel ID</c>: plain output, one fact per line.</summary>
internal static class WorkflowCommands
{
    public static Command CreateGet(Func<ParseResult, string?, CliSettings> settings, TextWriter output, TextWriter error)
    {
        var id = new Argument<string>("id") { Description = "Workflow id (wf_...)" };
        var json = CliOptions.Json("Print the workflow as the REST API answers it (JSON)");
        var command = new Command("get", "Show a workflow") { id, json };
        command.SetAction((parse, cancellationToken) => WithClientAsync(settings(parse, null), error, async client =>
        {
            var workflow = await client.GetWorkflowAsync(parse.GetValue(id)!, cancellationToken);
            if (parse.GetValue(json))
            {
                CliJson.WriteLine(output, workflow, CliJson.Rest);
            }
            else
            {
                Write(workflow, output);
            }

            return workflow.Status == WorkflowStatuses.Failed || workflow.Status == WorkflowStatuses.Cancelled ? ExitCodes.WorkflowFailed : ExitCodes.Ok;
        }));
        return command;
    }

    public static Command CreateList(Func<ParseResult, string?, CliSettings> settings, TextWriter output, TextWriter error)
    {
        var status = new Option<string?>("--status") { Description = "Only workflows in this status" };
        status.AcceptOnlyFromAmong([.. WorkflowStatuses.All]);
        var page = CliOptions.WholeNumber("--page", "Page number, from 1", defaultValue: 1);
        var pageSize = CliOptions.WholeNumber("--page-size", "Workflows per page", defaultValue: 20);
        var json = CliOptions.Json("Print the page as the REST API answers it (JSON)");
        var command = new Command("list", "List workflows, newest first") { status, page, pageSize, json };
        command.SetAction((parse, cancellationToken) => WithClientAsync(settings(parse, null), error, async client =>
        {
            var list = await client.ListWorkflowsAsync(parse.GetValue(status), parse.GetValue(page), parse.GetValue(pageSize), cancellationToken);
            if (parse.GetValue(json))
            {
                CliJson.WriteLine(output, list, CliJson.Rest);
                return ExitCodes.Ok;
            }

            foreach (var workflow in list.Workflows)
            {
                output.WriteLine($"{TerminalText.Line(workflow.WorkflowId)}  {TerminalText.Line(workflow.Status),-9}  {workflow.CreatedAt}  {TerminalText.Line(workflow.Task)}");
            }

            output.WriteLine($"{list.Workflows.Count} of {list.Total} (page {list.Page})");
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command CreateCancel(Func<ParseResult, string?, CliSettings> settings, TextWriter output, TextWriter error)
    {
        var id = new Argument<string>("id") { Description = "Workflow id (wf_...)" };
        var command = new Command("cancel", "Cancel a pending, running or waiting workflow") { id };
        command.SetAction((parse, cancellationToken) => WithClientAsync(settings(parse, null), error, async client =>
        {
            await client.CancelWorkflowAsync(parse.GetValue(id)!, cancellationToken);
            output.WriteLine($"Workflow {parse.GetValue(id)} cancelled");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void Write(WorkflowResponse workflow, TextWriter output)
    {
        output.WriteLine($"Workflow:   {TerminalText.Line(workflow.WorkflowId)}");
        output.WriteLine($"Status:     {TerminalText.Line(workflow.Status)}");
        output.WriteLine($"Task:       {TerminalText.Line(workflow.Task)}");
        output.WriteLine($"Created:    {workflow.CreatedAt}");
        if (workflow.CompletedAt is not null)
        {
            output.WriteLine($"Finished:   {workflow.CompletedAt}");
        }

        foreach (var agent in workflow.AgentsSpawned)
        {
            var confidence = agent.Confidence is { } c ? $", confidence {Format.Percent(c)}" : "";
            output.WriteLine($"Agent:      {TerminalText.Line(agent.AgentId)} ({TerminalText.Line(agent.AgentType)}){confidence}");
        }

        if (workflow.Error is not null)
        {
            output.WriteLine($"Error:      {TerminalText.Line(workflow.Error)}");
        }

        if (workflow.Synthesis is { } synthesis)
        {
            output.WriteLine($"Synthesis (confidence {Format.Percent(synthesis.Confidence)}, {synthesis.AgentsSynthesized} agents):");
            output.WriteLine(TerminalText.Lines(synthesis.Content));
        }
    }

    private static async Task<int> WithClientAsync(CliSettings settings, TextWriter error, Func<Felix.Client.FelixClient, Task<int>> action)
    {
        using var client = settings.CreateClient();
        try
        {
            return await action(client);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return CliErrors.Report(ex, settings, error);
        }
    }
}
