using Felix.Client;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using static Felix.Tests.Client.ClientTestSupport;

namespace Felix.Tests.Client;

/// <summary>The console app run as a process against a real server: output, messages and exit codes.</summary>
public sealed partial class CliProcessTests
{
    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task RunPrintsTheWholeRunAndTheSynthesisAndExitsZero(string protocol)
    {
        await using var app = CreateServer();

        var result = await CliProcess.RunAsync(Key,
            "run", "Explain quantum computing", "--max-steps", "3", "--url", app.BaseAddress.ToString(), "--protocol", protocol);

        Assert.True(result.ExitCode == 0, result.ToString());
        var created = Assert.Single(result.Lines, l => l.StartsWith("Workflow wf_", StringComparison.Ordinal));
        var workflowId = created.Split(' ')[1];
        using var client = CreateClient(app);
        var workflow = await client.GetWorkflowAsync(workflowId).DefaultTimeout();
        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        Assert.Equal(
            workflow.AgentsSpawned.Select(a => $"Agent spawned: {a.AgentId} ({a.AgentType})"),
            result.Lines.Where(l => l.StartsWith("Agent spawned: ", StringComparison.Ordinal)).Select(l => l[..l.IndexOf(" at helix", StringComparison.Ordinal)]));
        Assert.Contains(result.Lines, l => l.StartsWith("Progress: ", StringComparison.Ordinal));
        var outputs = (await client.GetEventsAsync(workflowId, limit: 1000).DefaultTimeout()).Events.OfType<AgentOutputEvent>().ToList();
        Assert.NotEmpty(outputs);
        foreach (var agent in outputs)
        {
            var indented = string.Join('\n', agent.Content.Trim().ReplaceLineEndings("\n").Split('\n').Select(l => "  " + l));
            Assert.Contains(indented, result.Stdout.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        }

        var synthesis = workflow.Synthesis!;
        var header = $"Synthesis (confidence {Math.Round(synthesis.Confidence * 100):0}%, {synthesis.AgentsSynthesized} agents):";
        Assert.Contains(header, result.Lines);
        Assert.Contains(synthesis.Content.ReplaceLineEndings("\n").Trim(), result.Stdout.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Equal("Workflow completed", result.Lines.Last(l => l.Length > 0));
        Assert.Empty(result.Stderr);
    }

    [Fact]
    public async Task RunWithAWrongKeyExitsFourWithAClearMessage()
    {
        await using var app = CreateServer();

        var result = await CliProcess.RunAsync("wrong-key", "run", "--example", "1", "--url", app.BaseAddress.ToString());

        Assert.True(result.ExitCode == 4, result.ToString());
        Assert.Contains("refused the API key (401", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("FELIX_API_KEY", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAgainstAServerThatIsDownExitsThreeWithAClearMessage()
    {
        var url = $"http://127.0.0.1:{LoopbackPort.Unused()}/";

        var result = await CliProcess.RunAsync(Key, "run", "Explain quantum computing", "--url", url);

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains($"cannot reach Felix Server at {url}", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadCommandLineExitsTwo()
    {
        var noTask = await CliProcess.RunAsync(Key, "run", "--url", "http://127.0.0.1:1/");
        var badExample = await CliProcess.RunAsync(Key, "run", "--example", "99");
        var badProtocol = await CliProcess.RunAsync(Key, "run", "--example", "1", "--protocol", "xml");

        Assert.True(noTask.ExitCode == 2, noTask.ToString());
        Assert.Contains("felix examples", noTask.Stderr, StringComparison.Ordinal);
        Assert.True(badExample.ExitCode == 2, badExample.ToString());
        Assert.True(badProtocol.ExitCode == 2, badProtocol.ToString());
    }

    [Fact]
    public async Task GetListAndCancelWorkAsCommands()
    {
        await using var app = CreateServer();
        using var client = CreateClient(app);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 1).DefaultTimeout();
        await client.WatchAsync(workflow.WorkflowId).ToListAsync().DefaultTimeout();
        var url = app.BaseAddress.ToString();

        var get = await CliProcess.RunAsync(Key, "get", workflow.WorkflowId, "--url", url);
        var list = await CliProcess.RunAsync(Key, "list", "--url", url);
        var cancel = await CliProcess.RunAsync(Key, "cancel", workflow.WorkflowId, "--url", url);
        var missing = await CliProcess.RunAsync(Key, "get", "wf_missing", "--url", url);
        var examples = await CliProcess.RunAsync(null, "examples");

        Assert.True(get.ExitCode == 0, get.ToString());
        Assert.Contains($"Workflow:   {workflow.WorkflowId}", get.Lines);
        Assert.Contains("Status:     completed", get.Lines);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains(list.Lines, l => l.StartsWith(workflow.WorkflowId, StringComparison.Ordinal));
        Assert.True(cancel.ExitCode == 1, cancel.ToString());
        Assert.Contains("409 Workflow already finished", cancel.Stderr, StringComparison.Ordinal);
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Contains("404 Workflow not found", missing.Stderr, StringComparison.Ordinal);
        Assert.True(examples.ExitCode == 0, examples.ToString());
        Assert.StartsWith("1. ", examples.Stdout, StringComparison.Ordinal);
    }
}
