using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Felix.Tests.Web;

/// <summary>
/// The dashboard used as a person would, in Debian's Chromium driven by tests/browser/dashboard.mjs (playwright-core)
/// against the real server on Kestrel. scripts/install-test-deps.sh installs Chromium and the npm packages.
/// </summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";

    /// <summary>Two workflows, a reload and a reconnect: generous, since the machine may be busy building.</summary>
    private static readonly TimeSpan DriverTimeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task DashboardRunsWorkflowsRestoresAfterReloadAndResumesAfterADrop()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/install-test-deps.sh.");
        Assert.True(Directory.Exists(Path.Combine(RepositoryPaths.BrowserTests, "node_modules", "playwright-core")),
            "tests/browser/node_modules is missing: run scripts/install-test-deps.sh.");

        // 15 ms a token makes a run last several seconds: long enough to reload and to drop the socket mid-run.
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.015" }, kestrel: true);
        var url = app.BaseAddress.ToString();
        Directory.CreateDirectory(RepositoryPaths.Screenshots);

        var result = await ChildProcess.RunAsync(ChildProcess.StartInfo("node", ["dashboard.mjs", url, RepositoryPaths.Screenshots], RepositoryPaths.BrowserTests), DriverTimeout);

        output.WriteLine(result.Stderr);
        var line = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.False(line is null, $"dashboard.mjs printed no summary (exit {result.ExitCode}).\n{result.Stderr}");
        await File.WriteAllTextAsync(Path.Combine(RepositoryPaths.Screenshots, "summary.json"), line);
        output.WriteLine($"screenshots and summary: {RepositoryPaths.Screenshots}");
        var summary = JsonNode.Parse(line)!.AsObject();

        Assert.True(summary["failure"] is null, $"dashboard.mjs failed at {summary["failure"]}\n{result.Stderr}");
        Assert.Empty(summary["pageErrors"]!.AsArray());
        Assert.True(summary["ok"]!.GetValue<bool>());
        Assert.Equal(0, result.ExitCode);

        var runs = summary["runs"]!.AsArray();
        Assert.Equal(["json", "messagepack"], runs.Select(r => r!["protocol"]!.GetValue<string>()));
        foreach (var run in runs)
        {
            AssertStreamedThenCompleted(run!.AsObject());
        }

        AssertRestoredAfterReload(runs[0]!["reload"]!.AsObject(), runs[0]!["final"]!.AsObject());
        AssertResumedAfterDrop(runs[1]!["drop"]!.AsObject(), runs[1]!["final"]!.AsObject());

        var reopened = summary["reopened"]!.AsObject();
        Assert.Equal(runs[0]!["workflowId"]!.GetValue<string>(), reopened["workflowId"]!.GetValue<string>());
        Assert.True(reopened["synthesisShown"]!.GetValue<bool>());
        Assert.Equal(Number(runs[0]!["final"]!, "lastSequence"), Number(reopened, "lastSequence"));
        Assert.Equal(Number(reopened, "lastSequence"), Number(reopened, "eventCount"));

        foreach (var name in new[] { "json-running.png", "json-completed.png", "messagepack-running.png", "messagepack-completed.png", "phone.png" })
        {
            var path = Path.Combine(RepositoryPaths.Screenshots, name);
            Assert.True(File.Exists(path) && new FileInfo(path).Length > 0, $"no screenshot {path}");
        }
    }

    private static void AssertStreamedThenCompleted(JsonObject run)
    {
        var protocol = run["protocol"]!.GetValue<string>();
        var streaming = run["whileStreaming"]!.AsObject();
        Assert.Equal("running", streaming["status"]!.GetValue<string>());
        Assert.True(Number(streaming, "agentsOnHelix") >= 1, $"{protocol}: no agent on the helix while running");
        Assert.True(Number(streaming, "deltaCount") > 0, $"{protocol}: no streamed deltas while running");
        Assert.True(Number(streaming, "agentTextChars") > 0, $"{protocol}: no agent text while running");

        var final = run["final"]!.AsObject();
        var server = run["server"]!.AsObject();
        Assert.Equal("completed", final["status"]!.GetValue<string>());
        Assert.Equal("completed", server["status"]!.GetValue<string>());
        Assert.True(final["synthesisShown"]!.GetValue<bool>());
        Assert.True(Number(final, "synthesisChars") > 0);
        Assert.Equal(server["confidence"]!.GetValue<string>(), final["confidence"]!.GetValue<string>());
        Assert.Equal(Number(server, "agents"), Number(final, "agentsOnHelix"));
        Assert.Equal(Number(server, "agents"), Number(final, "agentCards"));
        Assert.Equal("100", final["progress"]!.GetValue<string>());
        // Events are applied only in increasing order, so as many events as the last sequence means 1..N, each once.
        Assert.Equal(Number(final, "lastSequence"), Number(final, "eventCount"));
        Assert.True(run["inRecentList"]!.GetValue<bool>(), $"{protocol}: workflow missing from the recent list");
    }

    private static void AssertRestoredAfterReload(JsonObject reload, JsonObject final)
    {
        var before = reload["before"]!.AsObject();
        var restored = reload["restored"]!.AsObject();
        Assert.Equal("running", before["status"]!.GetValue<string>());
        Assert.True(Number(restored, "lastSequence") >= Number(before, "lastSequence"), "history not restored after reload");
        Assert.Equal(Number(restored, "lastSequence"), Number(restored, "eventCount"));
        Assert.True(Number(restored, "agentsOnHelix") >= Number(before, "agentsOnHelix"));
        Assert.True(Number(restored, "agentTextChars") >= Number(before, "agentTextChars"));
        Assert.True(Number(final, "lastSequence") >= Number(restored, "lastSequence"));
    }

    private static void AssertResumedAfterDrop(JsonObject drop, JsonObject final)
    {
        Assert.True(Number(drop, "socketsClosed") >= 1);
        var before = drop["before"]!.AsObject();
        var after = drop["afterReconnect"]!.AsObject();
        Assert.Equal("running", before["status"]!.GetValue<string>());
        Assert.True(Number(after, "reconnects") >= 1, "no automatic reconnect after the drop");
        Assert.True(Number(after, "lastSequence") >= Number(before, "lastSequence"));
        Assert.True(Number(final, "reconnects") >= 1);
    }

    private static double Number(JsonNode node, string name) => node[name]!.GetValue<double>();
}
