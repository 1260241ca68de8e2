using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;

namespace Felix.Tests.Compat;

public sealed partial class CompatPythonClientTests
{
    /// <summary>
    /// A graceful restart under the example: SIGTERM closes its stream with 1001, the draining server refuses the
    /// reconnect with 503 and Retry-After, and a new server on the same port and data directory resumes the workflow.
    /// The example waits as asked, resumes with last_event_id and prints the run as it prints an uninterrupted one.
    /// </summary>
    [Fact]
    public async Task PythonExampleWaitsOutAGracefulRestartAndFinishesTheWorkflow()
    {
        await using var files = new SqliteTestDatabase();
        Directory.CreateDirectory(files.Directory);
        var settings = StorageTestSettings.SqliteFile(files.Directory,
                ("Felix:Llm:OfflineTokenDelay", "00:00:00.050"), ("Felix:Workflows:ShutdownGracePeriod", "00:00:01"))
            .ToDictionary(p => p.Key, p => p.Value!);
        var port = LoopbackPort.Unused();
        Task<ChildProcess.Result> run;
        string? created = null;
        await using (var first = await ServerProcess.StartAsync(files.Directory, settings, port: port))
        {
            run = PythonClient.RunAsync(first.BaseAddress, apiKey: null,
                "--task", "Python restart", "--max-steps", "5", "--non-interactive");
            using var http = new HttpClient { BaseAddress = first.BaseAddress };
            // The example creates the workflow and opens its stream at once; an agent's output a second later means the
            // stream is live when the signal comes.
            await Poll.UntilAsync(async () => run.IsCompleted || (created = await FirstWorkflowWithAnOutputAsync(http)) is not null,
                "the example's workflow to have an agent output", TimeSpan.FromSeconds(60));

            if (run.IsCompleted)
            {
                Assert.Fail("The example ended before the restart:\n" + await run);
            }

            await first.TerminateAsync();
            Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }

        var workflowId = created!;
        await using var second = await ServerProcess.StartAsync(files.Directory, settings, port: port);
        var result = await run;

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(result.Lines.Contains("Connection lost (1001 Server shutting down)."), result.ToString());
        Assert.True(result.Lines.Contains("Connection refused (HTTP 503)."), result.ToString());
        Assert.True(result.Lines.Any(l => RetryingAsAsked().IsMatch(l)), result.ToString());
        Assert.Equal(workflowId, Match(result, WorkflowCreated()).Groups[1].Value);
        using var client = new HttpClient { BaseAddress = second.BaseAddress };
        var workflow = await client.WaitForTerminalAsync(workflowId, TimeSpan.FromSeconds(60));
        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        DurableHistory.AssertOneRun(await client.ReadEventsAsync(workflowId));

        // What an uninterrupted run prints: each agent once, in order, its confidence, one synthesis matching the run's.
        var spawned = result.Lines.Select(l => AgentSpawned().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        var outputs = result.Lines.Select(l => AgentOutput().Match(l)).Where(m => m.Success).ToList();
        Assert.Equal(workflow.AgentsSpawned.Select(a => a.AgentId), spawned);
        Assert.Equal(spawned, outputs.Select(m => m.Groups[1].Value));
        foreach (var output in outputs)
        {
            Assert.Equal(Percent(workflow.AgentsSpawned.Single(a => a.AgentId == output.Groups[1].Value).Confidence!.Value), output.Groups[2].Value);
        }

        Assert.Single(result.Lines, l => SynthesisStarted().IsMatch(l));
        Assert.Single(result.Lines, l => l == "Workflow complete");
        var synthesis = Match(result, SynthesisLine());
        Assert.Equal(Percent(workflow.Synthesis!.Confidence), synthesis.Groups[1].Value);
        Assert.Equal(workflow.Synthesis.Content.ReplaceLineEndings("\n").TrimEnd(), SynthesisContent(result));
    }

    private static async Task<string?> FirstWorkflowWithAnOutputAsync(HttpClient http)
    {
        var list = JsonNode.Parse(await http.GetStringAsync("api/v1/workflows").DefaultTimeout())!["workflows"]!.AsArray();
        if (list.Count == 0)
        {
            return null;
        }

        var id = list[0]!["workflow_id"]!.GetValue<string>();
        return (await http.ReadEventsAsync(id)).Any(e => e is AgentOutputEvent) ? id : null;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^Retrying in \d+ s, as the server asked\.$")]
    private static partial System.Text.RegularExpressions.Regex RetryingAsAsked();
}
