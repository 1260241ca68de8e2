using System.Globalization;
using System.Text.RegularExpressions;
using Felix.Server.Compat;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>
/// The Python example, run as a user runs it: system start, create (202), the raw socket with the key, read to the end,
/// keepalive both ways. What it prints must be what the original's example printed, and consistent with the run.
/// </summary>
public sealed partial class CompatPythonClientTests
{
    [Fact]
    public async Task PythonExampleRunsAWorkflowToTheEndAndPrintsWhatTheOriginalPrinted()
    {
        // A short keepalive and a paced model, so pings happen in both directions during the run.
        var model = new HeldModel();
        await using var app = CreateServer(("Felix:Streaming:PingInterval", "00:00:00.2"), ("Felix:Llm:OfflineTokenDelay", "00:00:00.004"))
            .WithServices(model.Install);
        var connections = app.Services.GetRequiredService<CompatConnections>();

        var run = PythonClient.RunAsync(app.BaseAddress, Key,
            "--task", "Explain quantum computing", "--max-steps", "4", "--non-interactive", "--ping-interval", "0.5", "--verbose");
        // The agents wait for the example's socket, so its keepalive meets a live stream (the paced tokens then take
        // seconds). Without that, an example slower to start than the whole run (a loaded machine) was sent the finished
        // history and the close before its first ping, and rightly got no pong.
        await Poll.UntilAsync(() => Task.FromResult(run.IsCompleted || connections.WorkflowCount > 0), "the example's socket to open");
        model.Release();
        var result = await run;

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
        Assert.DoesNotContain("NaN", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("unknown", result.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Event: ", result.Stdout, StringComparison.Ordinal);

        var workflowId = Match(result, WorkflowCreated()).Groups[1].Value;
        using var client = app.CreateApiClient();
        var workflow = await client.GetWorkflowAsync(workflowId);
        Assert.Equal("completed", workflow.Status);

        var spawned = result.Lines.Select(l => AgentSpawned().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        var outputs = result.Lines.Select(l => AgentOutput().Match(l)).Where(m => m.Success).ToList();
        Assert.Equal(workflow.AgentsSpawned.Select(a => a.AgentId), spawned);
        Assert.Equal(spawned, outputs.Select(m => m.Groups[1].Value));
        foreach (var output in outputs)
        {
            var agent = workflow.AgentsSpawned.Single(a => a.AgentId == output.Groups[1].Value);
            Assert.Equal(Percent(agent.Confidence!.Value), output.Groups[2].Value);
        }

        Assert.Equal(spawned.Count.ToString(CultureInfo.InvariantCulture), Match(result, SynthesisStarted()).Groups[1].Value);
        var synthesis = Match(result, SynthesisLine());
        Assert.Equal(Percent(workflow.Synthesis!.Confidence), synthesis.Groups[1].Value);
        Assert.Equal(spawned.Count.ToString(CultureInfo.InvariantCulture), synthesis.Groups[2].Value);
        Assert.Equal(workflow.Synthesis.Content.ReplaceLineEndings("\n").TrimEnd(), SynthesisContent(result));

        var keepalive = Match(result, Keepalive());
        // Pongs flow, and only in answer to pings. How many pings go unanswered is not the server's to decide: the example
        // pings on a timer, so one that reads behind (a starved process) keeps pinging after the server has sent its last
        // event and closed, and those pings cannot be answered; the pings of the live run's seconds are. That the server answers every ping it reads while open is pinned without timing in
        // CompatStreamTests.ServerPingsAnIdleClientAndAnswersItsPingWithPong.
        var (pings, pongs) = (int.Parse(keepalive.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(keepalive.Groups[2].Value, CultureInfo.InvariantCulture));
        Assert.True(pongs > 0 && pongs <= pings, $"{pings} pings sent, {pongs} pongs received\n{result.Stdout}\n{result.Stderr}");
        Assert.True(int.Parse(keepalive.Groups[3].Value, CultureInfo.InvariantCulture) > 0, "the server sent no keepalive ping");
    }

    [Fact]
    public async Task PythonExampleResumesAfterADroppedConnectionWithoutLossOrRepeat()
    {
        await using var app = CreateServer(("Felix:Llm:OfflineTokenDelay", "00:00:00.002"));

        var result = await PythonClient.RunAsync(app.BaseAddress, Key,
            "--task", "Explain quantum computing", "--max-steps", "4", "--non-interactive", "--simulate-drop-after", "5");

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
        Assert.Contains(result.Lines, l => l.StartsWith("Reconnecting, resuming after event ", StringComparison.Ordinal));
        var workflowId = Match(result, WorkflowCreated()).Groups[1].Value;
        using var client = app.CreateApiClient();
        var workflow = await client.GetWorkflowAsync(workflowId);
        var spawned = result.Lines.Select(l => AgentSpawned().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value);
        var outputs = result.Lines.Select(l => AgentOutput().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value);
        Assert.Equal(workflow.AgentsSpawned.Select(a => a.AgentId), spawned);
        Assert.Equal(workflow.AgentsSpawned.Select(a => a.AgentId), outputs);
        Assert.Single(result.Lines, l => l.StartsWith("Synthesis started with ", StringComparison.Ordinal));
        Assert.Single(result.Lines, l => l == "Workflow complete");
    }

    [Fact]
    public async Task PythonExampleWaitsTheSecondsA1013AsksForThenResumes()
    {
        var reads = new FirstRecordReadFails();
        await using var app = CreateServer(("Felix:Llm:OfflineTokenDelay", "00:00:00.001")).WithServices(reads.Install);

        var result = await PythonClient.RunAsync(app.BaseAddress, Key, "--task", "Explain quantum computing", "--max-steps", "2", "--non-interactive");

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
        Assert.Contains("Connection lost (1013 Storage unavailable: retry after 5 seconds.).", result.Lines);
        Assert.Contains("Retrying in 5 s, as the server asked.", result.Lines);
        Assert.Single(result.Lines, l => l == "Workflow complete");
        var workflowId = Match(result, WorkflowCreated()).Groups[1].Value;
        var connects = reads.ReadsOf(workflowId);
        Assert.True(connects.Count >= 2, $"{connects.Count} connects");
        Assert.True(connects[1] - connects[0] >= TimeSpan.FromSeconds(5), $"came back after {(connects[1] - connects[0]).TotalSeconds:0.00} s");
    }

    [Fact]
    public async Task PythonExampleExitsNonZeroWithAClearMessageOnAWrongKey()
    {
        await using var app = CreateServer();

        var result = await PythonClient.RunAsync(app.BaseAddress, "wrong-key", "--task", "Explain quantum computing", "--non-interactive");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("HTTP 401", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PythonExamplePipedIntoHeadStopsQuietlyWhenHeadHasEnough()
    {
        // Paced, so the example is still printing when head has read its lines and gone.
        await using var app = CreateServer(("Felix:Llm:OfflineTokenDelay", "00:00:00.004"));
        var script = Path.Combine(ChildProcess.RepositoryRoot, "clients", "python", "felix_ws_client.py");
        var start = ChildProcess.StartInfo("bash", ["-c", "\"$0\" \"$1\" --url \"$2\" --task \"$3\" --max-steps 3 --non-interactive | head -n 2",
            PythonClient.Interpreter, script, app.BaseAddress.ToString().TrimEnd('/'), "Explain quantum computing"]).WithApiKey(Key);

        var result = await ChildProcess.RunAsync(start, TimeSpan.FromSeconds(90));

        Assert.Equal(2, result.Lines.Count(l => l.Length > 0));
        Assert.True(result.Stderr.Length == 0, $"the example wrote to stderr:\n{result.Stderr}");
    }

    private static string Percent(double confidence) => Math.Round(confidence * 100).ToString(CultureInfo.InvariantCulture);

    private static Match Match(ChildProcess.Result result, Regex pattern) =>
        result.Lines.Select(l => pattern.Match(l)).SingleOrDefault(m => m.Success)
        ?? throw new Xunit.Sdk.XunitException($"No single line matches {pattern} in:\n{result.Stdout}");

    private static string SynthesisContent(ChildProcess.Result result)
    {
        var lines = result.Lines.SkipWhile(l => !SynthesisLine().IsMatch(l)).Skip(1).TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal));
        return string.Join("\n", lines.Select(l => l[4..])).TrimEnd();
    }

    [GeneratedRegex(@"^Workflow created: (wf_[0-9a-f]+)$")]
    private static partial Regex WorkflowCreated();

    [GeneratedRegex(@"^Agent spawned: (\S+) \((research|analysis|critic)\) at helix position (0\.\d\d|1\.00)$")]
    private static partial Regex AgentSpawned();

    [GeneratedRegex(@"^Output from agent (\S+) \(confidence: (\d{1,3})%\)$")]
    private static partial Regex AgentOutput();

    [GeneratedRegex(@"^Synthesis started with (\d+) agents$")]
    private static partial Regex SynthesisStarted();

    [GeneratedRegex(@"^Synthesis \(confidence: (\d{1,3})%, agents synthesized: (\d+)\):$")]
    private static partial Regex SynthesisLine();

    [GeneratedRegex(@"^Keepalive: (\d+) pings sent, (\d+) pongs received, (\d+) server pings answered$")]
    private static partial Regex Keepalive();
}
