using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Felix.Tests.Web;

/// <summary>
/// The dashboard's approval card in Debian's Chromium, driven by tests/browser/approval.mjs against a server that asks
/// before every synthesis: the card shows what waits, Revise sends the comment, Approve lets the run complete.
/// </summary>
public sealed class DashboardApprovalBrowserTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task ApprovalCardRevisesWithTheCommentThenApprovesAndTheRunCompletes()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/install-test-deps.sh.");
        Assert.True(Directory.Exists(Path.Combine(RepositoryPaths.BrowserTests, "node_modules", "playwright-core")),
            "tests/browser/node_modules is missing: run scripts/install-test-deps.sh.");
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Approvals:BeforeSynthesis"] = "true" }, kestrel: true);
        var screenshots = Path.Combine(RepositoryPaths.Screenshots, "approval");

        var result = await ChildProcess.RunAsync(
            ChildProcess.StartInfo("node", ["approval.mjs", app.BaseAddress.ToString(), screenshots], RepositoryPaths.BrowserTests),
            TimeSpan.FromMinutes(2));

        output.WriteLine(result.Stderr);
        var line = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.False(line is null, $"approval.mjs printed no summary (exit {result.ExitCode}).\n{result.Stderr}");
        var summary = JsonNode.Parse(line)!.AsObject();
        Assert.True(summary["failure"] is null, $"approval.mjs failed at {summary["failure"]}\n{result.Stderr}");
        Assert.Empty(summary["pageErrors"]!.AsArray());
        var id = summary["workflowId"]!.GetValue<string>();
        using var api = app.CreateApiClient();
        var workflow = await api.WaitForTerminalAsync(id);
        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        Assert.Equal("The synthesis waits for approval", summary["first"]!["title"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(summary["first"]!["content"]!.GetValue<string>()));
        var resolved = (await api.ReadEventsAsync(id)).OfType<ApprovalResolvedEvent>().ToList();
        Assert.Equal(["revise", "approve"], resolved.Select(r => r.Decision));
        Assert.Equal("Shorter, please.", resolved[0].Comment);
        Assert.Equal(summary["first"]!["approvalId"]!.GetValue<string>(), resolved[0].ApprovalId);
        Assert.Equal(summary["second"]!["approvalId"]!.GetValue<string>(), resolved[1].ApprovalId);
        Assert.Equal(workflow.Synthesis!.Content, summary["second"]!["content"]!.GetValue<string>());
    }
}
