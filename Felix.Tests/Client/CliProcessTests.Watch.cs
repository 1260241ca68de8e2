using System.Text.Json;
using Felix.Client;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using static Felix.Tests.Client.ClientTestSupport;

namespace Felix.Tests.Client;

/// <summary><c>felix watch</c>, <c>--json</c>, the interrupt hint and where <c>--protocol</c> is offered.</summary>
public sealed partial class CliProcessTests
{
    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task WatchFollowsAnExistingWorkflowToItsEndAndExitsZero(string protocol)
    {
        await using var app = CreateServer();
        using var client = CreateClient(app);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 3).DefaultTimeout();

        var result = await CliProcess.RunAsync(Key, "watch", workflow.WorkflowId, "--url", app.BaseAddress.ToString(), "--protocol", protocol);

        Assert.True(result.ExitCode == 0, result.ToString());
        var finished = await client.GetWorkflowAsync(workflow.WorkflowId).DefaultTimeout();
        Assert.StartsWith($"Workflow {workflow.WorkflowId} (", result.Lines[0], StringComparison.Ordinal);
        Assert.Equal(
            finished.AgentsSpawned.Select(a => $"Agent spawned: {a.AgentId} ({a.AgentType})"),
            result.Lines.Where(l => l.StartsWith("Agent spawned: ", StringComparison.Ordinal)).Select(l => l[..l.IndexOf(" at helix", StringComparison.Ordinal)]));
        Assert.Contains(finished.Synthesis!.Content.ReplaceLineEndings("\n").Trim(), result.Stdout.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Equal("Workflow completed", result.Lines.Last(l => l.Length > 0));
    }

    [Fact]
    public async Task WatchOfAnUnknownWorkflowExitsOneWithTheServersAnswer()
    {
        await using var app = CreateServer();

        var result = await CliProcess.RunAsync(Key, "watch", "wf_missing", "--url", app.BaseAddress.ToString());

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("404 Workflow not found", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("run")]
    [InlineData("watch")]
    public async Task JsonPrintsEveryEventOnceAsOneLineInSequence(string command)
    {
        await using var app = CreateServer();
        using var client = CreateClient(app);
        var url = app.BaseAddress.ToString();
        string[] args = command == "run"
            ? ["run", "Explain quantum computing", "--max-steps", "3", "--json", "--url", url]
            : ["watch", (await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 3).DefaultTimeout()).WorkflowId, "--json", "--url", url];

        var result = await CliProcess.RunAsync(Key, args);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Empty(result.Stderr);
        var events = result.Lines.Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var workflowId = events[0].GetProperty("workflowId").GetString()!;
        var history = (await client.GetEventsAsync(workflowId, limit: 1000).DefaultTimeout()).Events;
        Assert.Equal(history.Select(e => e.Sequence), events.Select(e => e.GetProperty("sequence").GetInt64()));
        Assert.Equal(history.Select(e => e.Type), events.Select(e => e.GetProperty("type").GetString()));
        Assert.All(events, e => Assert.Equal(workflowId, e.GetProperty("workflowId").GetString()));
        Assert.Equal(EventTypes.WorkflowComplete, events[^1].GetProperty("type").GetString());
    }

    [Fact]
    public async Task GetAndListWithJsonPrintWhatTheRestApiAnswers()
    {
        await using var app = CreateServer();
        using var client = CreateClient(app);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 1).DefaultTimeout();
        await client.WatchAsync(workflow.WorkflowId).ToListAsync().DefaultTimeout();
        var url = app.BaseAddress.ToString();

        var get = await CliProcess.RunAsync(Key, "get", workflow.WorkflowId, "--json", "--url", url);
        var list = await CliProcess.RunAsync(Key, "list", "--json", "--url", url);

        Assert.True(get.ExitCode == 0, get.ToString());
        var one = JsonDocument.Parse(get.Stdout).RootElement;
        Assert.Equal(workflow.WorkflowId, one.GetProperty("workflow_id").GetString());
        Assert.Equal(WorkflowStatuses.Completed, one.GetProperty("status").GetString());
        Assert.True(one.GetProperty("synthesis").GetProperty("confidence").GetDouble() > 0);
        Assert.True(list.ExitCode == 0, list.ToString());
        var page = JsonDocument.Parse(list.Stdout).RootElement;
        Assert.Equal(1, page.GetProperty("total").GetInt32());
        Assert.Equal(workflow.WorkflowId, page.GetProperty("workflows")[0].GetProperty("workflow_id").GetString());
    }

    [Fact]
    public async Task ProtocolIsOfferedOnlyOnTheCommandsThatWatch()
    {
        var get = await CliProcess.RunAsync(Key, "get", "wf_1", "--protocol", "json", "--url", "http://127.0.0.1:1/");
        var listHelp = await CliProcess.RunAsync(Key, "list", "--help");
        var watchHelp = await CliProcess.RunAsync(Key, "watch", "--help");
        var runHelp = await CliProcess.RunAsync(Key, "run", "--help");

        Assert.True(get.ExitCode == 2, get.ToString());
        Assert.Contains("--protocol", get.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("--protocol", listHelp.Stdout, StringComparison.Ordinal);
        Assert.Contains("--protocol", watchHelp.Stdout, StringComparison.Ordinal);
        Assert.Contains("--protocol", runHelp.Stdout, StringComparison.Ordinal);
        Assert.Contains("--json", listHelp.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task WatchGoesOnAfterTheConnectionDropsWithEveryEventOnce(string protocol)
    {
        // Paced so that the drop falls in mid-run; the CLI talks to the server only through the proxy.
        await using var app = new FelixApplication(
            new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key, ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.020" }, kestrel: true);
        await using var proxy = new TcpDropProxy(app.BaseAddress);
        using var client = CreateClient(app);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 3).DefaultTimeout();
        var dropped = 0;

        var result = await CliProcess.ReactAsync(
            Key,
            line => line.Contains($"\"type\":\"{EventTypes.AgentSpawned}\"", StringComparison.Ordinal),
            _ =>
            {
                dropped = proxy.DropAll();
                return Task.CompletedTask;
            },
            "watch", workflow.WorkflowId, "--json", "--protocol", protocol, "--url", proxy.Address.ToString());

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(dropped >= 1, "no connection was open to drop");
        var sequences = result.Lines.Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("sequence").GetInt64()).ToList();
        var history = (await client.GetEventsAsync(workflow.WorkflowId, limit: 1000).DefaultTimeout()).Events;
        Assert.Equal(history.Select(e => e.Sequence), sequences);
        Assert.Equal(EventTypes.WorkflowComplete, history[^1].Type);
    }

    [Fact]
    public async Task WatchOutlastsAServerThatCrashedAndCameBackOnTheSamePort()
    {
        await using var app = new FelixApplication(
            new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key, ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.020" }, kestrel: true);
        await using var proxy = new TcpDropProxy(app.BaseAddress);
        using var client = CreateClient(app);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 3).DefaultTimeout();

        // The proxy plays a crash: every connection reset, then refused for a while (past the first reconnect attempt,
        // within the second one, 2 s later), then the server is back on the same port.
        var result = await CliProcess.ReactAsync(
            Key,
            line => line.Contains($"\"type\":\"{EventTypes.AgentSpawned}\"", StringComparison.Ordinal),
            async _ =>
            {
                await proxy.GoDownAsync();
                await Task.Delay(TimeSpan.FromSeconds(1));
                proxy.ComeBack();
            },
            "watch", workflow.WorkflowId, "--json", "--url", proxy.Address.ToString());

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Connection lost; resuming after event", result.Stderr, StringComparison.Ordinal);
        var sequences = result.Lines.Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("sequence").GetInt64()).ToList();
        var history = (await client.GetEventsAsync(workflow.WorkflowId, limit: 1000).DefaultTimeout()).Events;
        Assert.Equal(history.Select(e => e.Sequence), sequences);
        Assert.Equal(EventTypes.WorkflowComplete, history[^1].Type);
    }

    [Fact]
    public async Task InterruptedWatchNamesTheWorkflowInItsHint()
    {
        // A slow model keeps the workflow running while the watch is interrupted.
        await using var app = new FelixApplication(
            new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key, ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.200" }, kestrel: true);
        using var client = CreateClient(app);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 3).DefaultTimeout();

        var result = await CliProcess.InterruptAfterAsync(
            Key, line => line.StartsWith("Agent spawned: ", StringComparison.Ordinal),
            "watch", workflow.WorkflowId, "--url", app.BaseAddress.ToString());

        Assert.True(result.ExitCode == 130, result.ToString());
        Assert.Contains($"'felix cancel {workflow.WorkflowId}'", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(WorkflowStatuses.Running, (await client.GetWorkflowAsync(workflow.WorkflowId).DefaultTimeout()).Status);
    }
}
