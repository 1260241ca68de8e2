using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Agents;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.AgUi;

/// <summary>
/// The reference AG-UI client, <c>@ag-ui/client</c> 1.0.0's <c>HttpAgent</c> in Node (it validates every event against
/// <c>@ag-ui/core</c>'s schemas and order rules), against the server on Kestrel. Needs <c>tests/agui/node_modules</c>
/// (scripts/install-test-deps.sh).
/// </summary>
public sealed partial class AgUiClientTests
{
    private const string Key = "agui-test-key";
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task HttpAgentRunsAWorkflowToCompletionWithASubagentPerAgentAndTheSynthesisLast()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key }, kestrel: true);

        var run = await RunAsync(app, new { key = Key, threadId = "thread-complete", task = "Explain quantum computing", forwardedProps = new { max_steps = 3 } });

        Assert.Null(run["error"]);
        Assert.Empty(run["warnings"]!.AsArray());
        var events = run["events"]!.AsArray().Select(e => e!.AsObject()).ToList();
        AgUiProtocolRules.AssertValidRun(events);
        var workflowId = events[0]["metadata"]!["felix"]!["workflowId"]!.GetValue<string>();
        using var client = app.CreateApiClient();
        var workflow = await client.GetWorkflowAsync(workflowId);
        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        Assert.Equal("Explain quantum computing", workflow.Task);
        var history = await client.ReadEventsAsync(workflowId);
        var spawned = history.OfType<AgentSpawnedEvent>().ToList();
        Assert.Equal(3, spawned.Count);
        Assert.Equal(
            spawned.Select(s => $"{workflowId}.{s.AgentId}"),
            events.Where(e => AgUiProtocolRules.Type(e) == "SUBAGENT_STARTED").Select(e => e["subagentRunId"]!.GetValue<string>()));
        var messages = run["messages"]!.AsArray().Select(m => m!.AsObject()).ToList();
        foreach (var output in history.OfType<AgentOutputEvent>())
        {
            var text = Assert.Single(messages, m => m["role"]!.GetValue<string>() == "assistant"
                && m["subagentRunId"]?.GetValue<string>() == $"{workflowId}.{output.AgentId}");
            Assert.Equal(output.Content, text["content"]!.GetValue<string>());
        }

        var complete = Assert.IsType<WorkflowCompleteEvent>(history[^1]);
        var final = messages[^1];
        Assert.Equal(("assistant", null), (final["role"]!.GetValue<string>(), final["subagentRunId"]?.GetValue<string>()));
        Assert.Equal(complete.Synthesis.Content, final["content"]!.GetValue<string>());
        Assert.Equal(complete.Synthesis.Content, run["result"]!["content"]!.GetValue<string>());
        var usage = Assert.Single(events[^1]["usage"]!.AsArray())!;
        Assert.Equal(complete.Usage!.TotalTokens, usage["totalTokens"]!.GetValue<long>());
        Assert.True(usage["inputTokens"]!.GetValue<long>() > 0 && usage["outputTokens"]!.GetValue<long>() > 0);
        Assert.Equal("completed", run["state"]!["status"]!.GetValue<string>());
        Assert.Equal(spawned.Select(s => s.SpawnTime), spawned.Select(s => run["state"]!["agents"]![s.AgentId]!["position"]!.GetValue<double>()));
    }

    [Fact]
    public async Task HttpAgentThatDropsMidRunAndRunsAgainGetsTheRestWithoutRepeatedText()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["FELIX_API_KEY"] = Key,
            ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.004",
        }, kestrel: true);

        var run = await RunAsync(app, new
        {
            key = Key, threadId = "thread-drop", task = "Explain quantum computing", forwardedProps = new { max_steps = 3 }, dropAfterTexts = 20,
        });

        Assert.Empty(run["warnings"]!.AsArray());
        var runs = run["runs"]!.AsArray().Select(r => r!.AsObject()).ToList();
        var dropped = runs[0]["events"]!.AsArray().Select(e => e!.AsObject()).ToList();
        // The client aborts at its 20th text chunk; chunks already taken from the same network read still reach it, as
        // they reach a page that drops its connection.
        Assert.True(dropped.Count(e => AgUiProtocolRules.Type(e) == "TEXT_MESSAGE_CONTENT") >= 20);
        Assert.DoesNotContain(dropped, e => AgUiProtocolRules.Type(e) == "RUN_FINISHED");
        Assert.Null(runs[1]["error"]);
        var resumed = runs[1]["events"]!.AsArray().Select(e => e!.AsObject()).ToList();
        AgUiProtocolRules.AssertValidRun(resumed);
        var workflowId = dropped[0]["metadata"]!["felix"]!["workflowId"]!.GetValue<string>();
        Assert.Equal(workflowId, resumed[0]["metadata"]!["felix"]!["workflowId"]!.GetValue<string>());
        using var client = app.CreateApiClient();
        var history = await client.ReadEventsAsync(workflowId);
        var messages = run["messages"]!.AsArray().Select(m => m!.AsObject()).ToList();
        foreach (var output in history.OfType<AgentOutputEvent>())
        {
            var text = Assert.Single(messages, m => m["role"]!.GetValue<string>() == "assistant"
                && m["subagentRunId"]?.GetValue<string>() == $"{workflowId}.{output.AgentId}");
            Assert.Equal(output.Content, text["content"]!.GetValue<string>());
        }

        Assert.Equal(Assert.IsType<WorkflowCompleteEvent>(history[^1]).Synthesis.Content, messages[^1]["content"]!.GetValue<string>());
        Assert.Equal(1, (await client.GetFromJsonAsync<JsonObject>("api/v1/workflows").DefaultTimeout())!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task AModelFailureReachesTheClientAsRunError()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.FailWith = 500;
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["FELIX_API_KEY"] = Key,
            ["Felix:Llm:Provider"] = "OpenAI",
            ["Felix:Llm:Endpoint"] = fake.Endpoint.ToString(),
            ["Felix:Llm:Model"] = "fake-model",
            ["Felix:Llm:MaxRetries"] = "0",
        }, kestrel: true);

        var run = await RunAsync(app, new { key = Key, threadId = "thread-failing", task = "This will fail", forwardedProps = new { max_steps = 2 } });

        Assert.Null(run["error"]);
        Assert.Empty(run["warnings"]!.AsArray());
        var events = run["events"]!.AsArray().Select(e => e!.AsObject()).ToList();
        AgUiProtocolRules.AssertValidRun(events);
        Assert.Equal("RUN_ERROR", AgUiProtocolRules.Type(events[^1]));
        Assert.Equal("The language model endpoint answered HTTP 500.", events[^1]["message"]!.GetValue<string>());
        Assert.DoesNotContain(events, e => AgUiProtocolRules.Type(e) == "RUN_FINISHED");
    }

    [Fact]
    public async Task AWrongKeyIsRefusedWith401()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key }, kestrel: true);

        var run = await RunAsync(app, new { key = "not-the-key", threadId = "thread-401", task = "Explain quantum computing" });

        Assert.Equal(401, run["error"]!["status"]!.GetValue<int>());
        Assert.Equal("Unauthorized", Problem(run)["title"]!.GetValue<string>());
        Assert.Empty(run["events"]!.AsArray());
    }

    [Fact]
    public async Task ABadForwardedPropIsRefusedWith422BeforeAnyWorkflowStarts()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key }, kestrel: true);

        var run = await RunAsync(app, new { key = Key, threadId = "thread-422", task = "Explain quantum computing", forwardedProps = new { max_steps = 500 } });

        Assert.Equal(422, run["error"]!["status"]!.GetValue<int>());
        var payload = Problem(run);
        Assert.Equal("One or more fields are invalid.", payload["title"]!.GetValue<string>());
        Assert.Equal("max_steps must be between 1 and 50.", payload["errors"]!["forwardedProps.max_steps"]![0]!.GetValue<string>());
        Assert.Empty(run["events"]!.AsArray());
        using var client = app.CreateApiClient();
        Assert.Equal(0, (await client.GetFromJsonAsync<JsonObject>("api/v1/workflows").DefaultTimeout())!["total"]!.GetValue<int>());
    }

    /// <summary>The problem the client got with its HTTP error (it parses only <c>application/json</c>, so it kept the text).</summary>
    private static JsonNode Problem(JsonObject run) => JsonNode.Parse(run["error"]!["payload"]!.GetValue<string>())!;

    private static async Task<JsonObject> RunAsync(FelixApplication app, object options)
    {
        var directory = Path.Combine(ChildProcess.RepositoryRoot, "tests", "agui");
        Assert.True(
            Directory.Exists(Path.Combine(directory, "node_modules")),
            "tests/agui/node_modules is missing: run scripts/install-test-deps.sh");

        var start = ChildProcess.StartInfo("node", ["agui-run.mjs", app.BaseAddress.ToString(), JsonSerializer.Serialize(options)], directory);
        var result = await ChildProcess.RunAsync(start, ScriptTimeout);

        Assert.True(result.ExitCode == 0, $"node agui-run.mjs: {result}");
        return JsonNode.Parse(result.Stdout)!.AsObject();
    }
}
