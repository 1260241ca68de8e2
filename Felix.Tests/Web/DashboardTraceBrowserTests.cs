using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Felix.Tests.Web;

/// <summary>
/// The dashboard as a tool to understand a run, in Debian's Chromium driven by tests/browser/trace.mjs: the run's
/// duration, the agent waterfall checked against the server's event times, labelled token budgets, the event
/// inspector, re-run with the same settings, search and status filters over the recent runs, helix labels that do not
/// overlap with many agents, and a failed agent marked.
/// </summary>
public sealed class DashboardTraceBrowserTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly TimeSpan DriverTimeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task TraceViewShowsTimesInspectorRerunFiltersAndFailedAgents()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/install-test-deps.sh.");
        Assert.True(Directory.Exists(Path.Combine(RepositoryPaths.BrowserTests, "node_modules", "playwright-core")),
            "tests/browser/node_modules is missing: run scripts/install-test-deps.sh.");
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.002" }, kestrel: true);
        // A model endpoint nothing listens on: the first agent's call fails and so does the workflow.
        await using var failing = new FelixApplication(new Dictionary<string, string?>
        {
            ["Felix:Llm:Provider"] = "OpenAI",
            ["Felix:Llm:Endpoint"] = $"http://127.0.0.1:{LoopbackPort.Unused()}/v1",
            ["Felix:Llm:Model"] = "unreachable",
        }, kestrel: true);
        var screenshots = Path.Combine(RepositoryPaths.Screenshots, "trace");

        var result = await ChildProcess.RunAsync(
            ChildProcess.StartInfo("node", ["trace.mjs", app.BaseAddress.ToString(), failing.BaseAddress.ToString(), screenshots], RepositoryPaths.BrowserTests),
            DriverTimeout);

        output.WriteLine(result.Stderr);
        output.WriteLine($"screenshots: {screenshots}");
        var line = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.False(line is null, $"trace.mjs printed no summary (exit {result.ExitCode}).\n{result.Stderr}");
        var summary = JsonNode.Parse(line)!.AsObject();
        Assert.True(summary["failure"] is null, $"trace.mjs failed at {summary["failure"]}\n{result.Stderr}");
        Assert.Empty(summary["pageErrors"]!.AsArray());
        Assert.Equal(0, result.ExitCode);

        using var api = app.CreateApiClient();
        var run = summary["run"]!.AsObject();
        var id = run["workflowId"]!.GetValue<string>();
        await AssertWaterfallMatchesTheServerAsync(api, id, run);
        AssertInspector(summary["inspector"]!.AsObject());
        await AssertRerunAsync(api, id, summary["rerun"]!.AsObject());
        AssertFilters(id, summary["rerun"]!["workflowId"]!.GetValue<string>(), summary["filters"]!.AsObject());
        AssertFailedAgentMarked(summary["failed"]!.AsObject());
        var labels = summary["labels"]!.AsObject();
        var many = await api.GetWorkflowAsync(labels["workflowId"]!.GetValue<string>());
        Assert.Equal(many.AgentsSpawned.Count + 1, labels["count"]!.GetValue<int>()); // and the synthesis
        Assert.Equal(0, labels["overlaps"]!.GetValue<int>());
    }

    private static async Task AssertWaterfallMatchesTheServerAsync(HttpClient api, string id, JsonObject run)
    {
        var events = await api.ReadEventsAsync(id);
        var start = Time(events[0].Timestamp);
        var duration = Time(events[^1].Timestamp) - start;
        Assert.Equal(Math.Round(duration), run["durationMs"]!.GetValue<double>());
        Assert.Matches(@"\d", run["durationText"]!.GetValue<string>());
        var spawned = events.OfType<AgentSpawnedEvent>().ToList();
        var rows = run["rows"]!.AsArray().Select(r => r!.AsObject()).ToList();
        Assert.Equal(spawned.Select(e => e.AgentId), rows.Select(r => r["agentId"]!.GetValue<string>()));
        foreach (var row in rows)
        {
            var agentId = row["agentId"]!.GetValue<string>();
            var completed = events.OfType<AgentCompletedEvent>().Single(e => e.AgentId == agentId);
            var firstToken = events.OfType<AgentOutputDeltaEvent>().First(e => e.AgentId == agentId);
            Assert.Equal(Math.Round(Time(spawned.Single(e => e.AgentId == agentId).Timestamp) - start), row["spawnMs"]!.GetValue<double>());
            Assert.Equal(Math.Round(Time(firstToken.Timestamp) - start), row["firstTokenMs"]!.GetValue<double>());
            Assert.Equal(Math.Round(Time(completed.Timestamp) - start), row["endMs"]!.GetValue<double>());
            var facts = row["facts"]!.GetValue<string>();
            Assert.Contains($"{completed.PromptTokens}+{completed.CompletionTokens} tokens", facts, StringComparison.Ordinal);
            Assert.Contains("LLM ", facts, StringComparison.Ordinal);
        }

        Assert.Equal(
            spawned.Select(e => $"budget {e.TokenBudget} tokens"),
            run["cardMeta"]!.AsArray().Select(m => Regex.Match(m!.GetValue<string>(), @"budget \d+ tokens").Value));
        Assert.All(run["timelineTimes"]!.AsArray(), t => Assert.Matches(@"^\d\d:\d\d:\d\d\.\d{3}$", t!.GetValue<string>()));
    }

    private static void AssertInspector(JsonObject inspector)
    {
        Assert.Equal(1, inspector["event"]!["sequence"]!.GetValue<long>());
        Assert.Equal("workflow_status", inspector["event"]!["type"]!.GetValue<string>());
        Assert.Equal("#1 workflow_status", inspector["title"]!.GetValue<string>());
        Assert.NotEmpty(inspector["copied"]!.GetValue<string>());
    }

    private static async Task AssertRerunAsync(HttpClient api, string id, JsonObject rerun)
    {
        var original = await api.GetWorkflowAsync(id);
        Assert.NotEqual(id, rerun["workflowId"]!.GetValue<string>());
        Assert.Equal(original.Task, rerun["task"]!.GetValue<string>());
        Assert.Equal(original.MaxSteps, rerun["maxSteps"]!.GetValue<int>());
    }

    private static void AssertFilters(string id, string rerunId, JsonObject filters)
    {
        static string[] Ids(JsonNode? rows) => rows!.AsArray().Select(r => r!["id"]!.GetValue<string>()).ToArray();
        Assert.Equal(new[] { id, rerunId }.Order(), Ids(filters["bySearch"]).Order());
        Assert.Equal([id], Ids(filters["byId"]));
        Assert.Empty(filters["cancelled"]!.AsArray());
        Assert.Equal("No workflow matches.", filters["empty"]!.GetValue<string>());
        Assert.All(filters["completed"]!.AsArray(), r => Assert.Equal("completed", r!["status"]!.GetValue<string>()));
    }

    private static void AssertFailedAgentMarked(JsonObject failed)
    {
        var card = Assert.Single(failed["cards"]!.AsArray())!;
        Assert.Equal("failed", card["outcome"]!.GetValue<string>());
        Assert.True(card["failedClass"]!.GetValue<bool>());
        Assert.Contains("failed", card["meta"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("failed", Assert.Single(failed["rows"]!.AsArray())!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("could not be reached", failed["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private static double Time(string timestamp) =>
        DateTimeOffset.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();
}
