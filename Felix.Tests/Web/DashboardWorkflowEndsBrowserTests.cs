using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Felix.Tests.Web;

/// <summary>
/// What the dashboard shows of workflows that do not complete, in Debian's Chromium (tests/browser/workflow-ends.mjs):
/// an id the server does not know, and a run cancelled from the page.
/// </summary>
public sealed class DashboardWorkflowEndsBrowserTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task AnUnknownWorkflowOffersNoCancelAndACancelledRunShowsCancelledEverywhere()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/install-test-deps.sh.");
        Assert.True(Directory.Exists(Path.Combine(RepositoryPaths.BrowserTests, "node_modules", "playwright-core")),
            "tests/browser/node_modules is missing: run scripts/install-test-deps.sh.");
        // Paced so that the run is still going when the page cancels it.
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.015" }, kestrel: true);
        var screenshots = Path.Combine(RepositoryPaths.Screenshots, "workflow-ends");

        var result = await ChildProcess.RunAsync(
            ChildProcess.StartInfo("node", ["workflow-ends.mjs", app.BaseAddress.ToString(), screenshots], RepositoryPaths.BrowserTests),
            TimeSpan.FromMinutes(2));

        output.WriteLine(result.Stderr);
        var line = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.False(line is null, $"workflow-ends.mjs printed no summary (exit {result.ExitCode}).\n{result.Stderr}");
        output.WriteLine(line);
        var summary = JsonNode.Parse(line)!.AsObject();
        Assert.True(summary["failure"] is null, $"workflow-ends.mjs failed at {summary["failure"]}\n{result.Stderr}");
        Assert.Empty(summary["pageErrors"]!.AsArray());

        // The server does not know it: the page says so and neither calls it pending nor offers to cancel it.
        var unknown = summary["unknown"]!;
        Assert.Equal("Workflow 'wf_0000000000000000' not found.", unknown["error"]!.GetValue<string>());
        Assert.Equal("not found", unknown["status"]!.GetValue<string>());
        Assert.False(unknown["cancelShown"]!.GetValue<bool>());

        var cancelled = summary["cancelled"]!;
        using var api = app.CreateApiClient();
        var workflow = await api.WaitForTerminalAsync(cancelled["id"]!.GetValue<string>());
        Assert.Equal(WorkflowStatuses.Cancelled, workflow.Status);
        Assert.Equal("cancelled", cancelled["status"]!.GetValue<string>());
        Assert.False(cancelled["cancelShown"]!.GetValue<bool>());
        Assert.Equal("none", cancelled["synthesisState"]!.GetValue<string>());
        Assert.Equal("No synthesis: the workflow did not complete.", cancelled["synthesisText"]!.GetValue<string>());
        Assert.Equal("cancelled", cancelled["recentStatus"]?.GetValue<string>());
    }
}
