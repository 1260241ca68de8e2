using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Felix.Tests.Web;

/// <summary>
/// A task with markup, control characters and bidirectional overrides, opened in the dashboard in Debian's Chromium
/// (tests/browser/hostile-text.mjs): the page shows it as text, runs none of it, and writes the characters that would
/// change how the text reads as escapes.
/// </summary>
public sealed class DashboardHostileTextBrowserTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";

    /// <summary>
    /// Markup that would run if it were parsed, a bell and a terminal colour, and a right-to-left override that makes
    /// "pay 0001 to acme" read "pay 1000 to acme" (a "Trojan Source" task an approver could be shown).
    /// </summary>
    private const string HostileTask =
        "<img src=x onerror=\"window.__felixInjected=1\"><script>window.__felixInjected=2</script> " +
        "bell\u0007 \u001b[31mred\u001b[0m pay \u202E0001\u202C to acme";

    [Fact]
    public async Task HostileTaskTextIsShownAsTextWithItsControlsAndBidiOverridesEscaped()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/install-test-deps.sh.");
        Assert.True(Directory.Exists(Path.Combine(RepositoryPaths.BrowserTests, "node_modules", "playwright-core")),
            "tests/browser/node_modules is missing: run scripts/install-test-deps.sh.");
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.002" }, kestrel: true);
        using var api = app.CreateApiClient();
        var workflow = await api.CreateWorkflowAsync(HostileTask, maxSteps: 2);
        await api.WaitForTerminalAsync(workflow.WorkflowId);
        var screenshots = Path.Combine(RepositoryPaths.Screenshots, "hostile-text");

        var result = await ChildProcess.RunAsync(
            ChildProcess.StartInfo("node", ["hostile-text.mjs", app.BaseAddress.ToString(), workflow.WorkflowId, screenshots], RepositoryPaths.BrowserTests),
            TimeSpan.FromMinutes(2));

        output.WriteLine(result.Stderr);
        var line = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.False(line is null, $"hostile-text.mjs printed no summary (exit {result.ExitCode}).\n{result.Stderr}");
        output.WriteLine(line);
        var summary = JsonNode.Parse(line)!.AsObject();
        Assert.True(summary["failure"] is null, $"hostile-text.mjs failed at {summary["failure"]}\n{result.Stderr}");
        Assert.Empty(summary["dialogs"]!.AsArray());
        Assert.Empty(summary["pageErrors"]!.AsArray());
        Assert.Null(summary["injected"]);
        Assert.Equal(0, summary["images"]!.GetValue<int>());
        var expected = "<img src=x onerror=\"window.__felixInjected=1\"><script>window.__felixInjected=2</script> " +
            "bell\\u0007 \\u001b[31mred\\u001b[0m pay \\u202e0001\\u202c to acme";
        Assert.Equal(expected, summary["task"]!.GetValue<string>());
        Assert.Equal(expected, summary["recentTask"]!.GetValue<string>());
        foreach (var shown in new[] { "synthesis", "agentText" })
        {
            var text = summary[shown]?.GetValue<string>() ?? "";
            Assert.False(text.Any(c => c is '\u202E' or '\u202C' or '\u0007' or '\u001b'), $"{shown} holds a raw control or bidi character: {text}");
        }
    }
}
