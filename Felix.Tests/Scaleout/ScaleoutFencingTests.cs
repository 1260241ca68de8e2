using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Tests.Agents;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;

namespace Felix.Tests.Scaleout;

/// <summary>
/// A node frozen (SIGSTOP) past its lease loses its running workflows to another node, which resumes them from their
/// histories as new attempts; when the frozen node continues (SIGCONT), everything it still writes is refused by the
/// event log's fencing and it says so in its log. Every workflow completes with one history, and no committed agent's
/// model call is made again. Real server processes, a real redis-server, a fake OpenAI-compatible model.
/// </summary>
public sealed class ScaleoutFencingTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private const int Workflows = 2;
    private readonly string _directory = Directory.CreateTempSubdirectory("felix-fencing-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task AFrozenNodesStaleWritesAreRefusedAndItsWorkCompletesElsewhere()
    {
        await using var model = await FakeOpenAIServer.StartAsync();
        model.WordDelay = TimeSpan.FromMilliseconds(60);
        var prefix = "fence" + Guid.NewGuid().ToString("N")[..8];
        Dictionary<string, string> Node(string name) => NodeSettings(prefix, name, model);

        await using var a = await ServerProcess.StartAsync(_directory, Node("a"));
        using var apiA = new HttpClient { BaseAddress = a.BaseAddress };
        var ids = new List<string>();
        for (var i = 0; i < Workflows; i++)
        {
            ids.Add((await apiA.CreateWorkflowAsync($"Fenced task {i}", maxSteps: 3)).WorkflowId);
        }

        foreach (var id in ids)
        {
            await apiA.WaitForStatusAsync(id, WorkflowStatuses.Running);
        }

        // The runs crawl while B starts (many seconds on a loaded machine), so A is still mid-run when it freezes.
        model.WordDelay = TimeSpan.FromSeconds(1);
        await using var b = await ServerProcess.StartAsync(_directory, Node("b"));
        using var apiB = new HttpClient { BaseAddress = b.BaseAddress };

        // A freezes mid-run; B finds A's lease expired and resumes A's workflows as second attempts.
        await a.PauseAsync();
        model.WordDelay = TimeSpan.FromMilliseconds(60);
        foreach (var id in ids)
        {
            Assert.Equal(WorkflowStatuses.Running, (await apiB.GetWorkflowAsync(id)).Status);
        }

        foreach (var id in ids)
        {
            Felix.Contracts.Dtos.WorkflowResponse? seen = null;
            await Poll.UntilAsync(
                async () => (seen = await apiB.GetWorkflowAsync(id)).Attempts >= 2,
                () => $"node b to resume {id} (last seen {seen?.Status}, attempt {seen?.Attempts}); its last lines:\n" + string.Join("\n", b.Output.TakeLast(40)),
                TimeSpan.FromSeconds(60));
        }

        await a.ContinueAsync();
        foreach (var id in ids)
        {
            var workflow = await apiB.WaitForTerminalAsync(id, TimeSpan.FromSeconds(60));
            Assert.Equal((WorkflowStatuses.Completed, 2), (workflow.Status, workflow.Attempts));
            DurableHistory.AssertOneRun(await apiB.ReadEventsAsync(id));
        }

        // A's run is refused at its next write: an event (the log refuses attempt 1), or, when A froze in a call that
        // streams nothing (the synthesis), its final status (the store's compare-and-set on the attempt).
        await Poll.UntilAsync(
            () => Task.FromResult(a.Output.Any(line =>
                line.Contains("refused a write of attempt 1", StringComparison.Ordinal) || line.Contains("had already finished elsewhere", StringComparison.Ordinal))),
            () => "node a to log its refused writes; its last lines:\n" + string.Join("\n", a.Output.TakeLast(60)), TimeSpan.FromSeconds(30));
        // Each agent step's model call is made once, and once more at most for the step in flight when A froze.
        List<JsonObject> bodies;
        lock (model.Bodies)
        {
            bodies = [.. model.Bodies];
        }

        for (var i = 0; i < Workflows; i++)
        {
            var calls = CallsPerStep(bodies, $"Fenced task {i}");
            Assert.True(calls.Values.Count(n => n > 1) <= 1, $"workflow {i}: more than one step was called twice: {string.Join(", ", calls)}");
            Assert.All(calls.Values, n => Assert.InRange(n, 1, 2));
        }
    }

    [Fact]
    public async Task AKilledNodeAFrozenNodeAndAFrozenRedisStillLeaveEveryWorkflowCompleteWithOneHistory()
    {
        const int workflows = 6;
        await using var model = await FakeOpenAIServer.StartAsync();
        model.WordDelay = TimeSpan.FromMilliseconds(40);
        var prefix = "chaos" + Guid.NewGuid().ToString("N")[..8];
        // Losing Redis's clock for a few seconds makes every lease look expired at once: takeovers happen between live
        // nodes too, each a new attempt, so the attempts limit is raised for this test.
        Dictionary<string, string> Node(string name) => new(NodeSettings(prefix, name, model)) { ["Felix:Workflows:MaxAttempts"] = "20" };

        await using var a = await ServerProcess.StartAsync(_directory, Node("a"));
        await using var b = await ServerProcess.StartAsync(_directory, Node("b"));
        await using var c = await ServerProcess.StartAsync(_directory, Node("c"));
        using var api = new HttpClient { BaseAddress = b.BaseAddress };
        var ids = new List<string>();
        for (var i = 0; i < workflows; i++)
        {
            ids.Add((await api.CreateWorkflowAsync($"Chaos task {i}", maxSteps: 3)).WorkflowId);
        }

        await Poll.UntilAsync(async () => (await Task.WhenAll(ids.Select(id => api.GetWorkflowAsync(id))))
            .Count(w => w.Status == WorkflowStatuses.Running) >= 4, "the nodes to run the workflows", TimeSpan.FromSeconds(60));
        await c.KillAsync();
        await a.PauseAsync();
        await Task.Delay(TimeSpan.FromSeconds(5));
        await a.ContinueAsync();
        await redis.FreezeAsync(TimeSpan.FromSeconds(4));

        foreach (var id in ids)
        {
            var workflow = await api.WaitForTerminalAsync(id, TimeSpan.FromSeconds(120));
            Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
            DurableHistory.AssertOneRun(await api.ReadEventsAsync(id));
        }

        List<JsonObject> bodies;
        lock (model.Bodies)
        {
            bodies = [.. model.Bodies];
        }

        // A committed step's call is never made again: a step is called again only when it was in flight at a takeover.
        for (var i = 0; i < workflows; i++)
        {
            var workflow = await api.GetWorkflowAsync(ids[i]);
            var calls = CallsPerStep(bodies, $"Chaos task {i}");
            Assert.True(calls.Values.Sum(n => n - 1) <= workflow.Attempts - 1,
                $"workflow {i} ({workflow.Attempts} attempts) called steps again more often than it was resumed: {string.Join(", ", calls)}");
        }
    }

    private Dictionary<string, string> NodeSettings(string prefix, string name, FakeOpenAIServer model) => new()
    {
        ["Felix:Redis:Configuration"] = redis.Configuration,
        ["Felix:Redis:KeyPrefix"] = prefix,
        ["Felix:Redis:NodeName"] = name,
        ["Felix:Redis:NodeLease"] = "00:00:02",
        ["Felix:Redis:QueuePollInterval"] = "00:00:00.200",
        ["Felix:Llm:Provider"] = "OpenAI",
        ["Felix:Llm:Endpoint"] = model.Endpoint.ToString(),
        ["Felix:Llm:Model"] = "fake-model",
        ["Felix:Llm:MaxRetries"] = "0",
        ["Felix:Workflows:MaxConcurrent"] = "2",
    };

    /// <summary>The model calls made for one workflow's task, counted per step.</summary>
    private static Dictionary<string, int> CallsPerStep(List<JsonObject> bodies, string task) =>
        bodies.Where(body => body.ToJsonString().Contains(task, StringComparison.Ordinal))
            .GroupBy(AgentStep).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>Which step a model call is for: the synthesis, or the agent with this many outputs before it.</summary>
    private static string AgentStep(JsonObject body)
    {
        var messages = body["messages"]!.AsArray();
        if (messages[0]!["content"]!.ToString().Contains("synthesis", StringComparison.OrdinalIgnoreCase))
        {
            return "synthesis";
        }

        var user = messages[^1]!["content"]!.ToString();
        return "agent after " + user.Split('\n').Count(line => line.StartsWith('[')).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
