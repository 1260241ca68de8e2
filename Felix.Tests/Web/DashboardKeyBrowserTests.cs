using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Felix.Tests.Web;

/// <summary>
/// The dashboard against a server that wants a key (tests/browser/keys.mjs, Debian's Chromium): saving the right key
/// clears the error the missing one caused, and saving a wrong one says so in the recent list instead of leaving the
/// right key's workflows on show.
/// </summary>
public sealed class DashboardKeyBrowserTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Key = "k-dashboard-keys";

    [Fact]
    public async Task SavingTheRightKeyClearsItsErrorAndSavingAWrongOneSaysSo()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/install-test-deps.sh.");
        Assert.True(Directory.Exists(Path.Combine(RepositoryPaths.BrowserTests, "node_modules", "playwright-core")),
            "tests/browser/node_modules is missing: run scripts/install-test-deps.sh.");
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key }, kestrel: true);
        var screenshots = Path.Combine(RepositoryPaths.Screenshots, "keys");

        var result = await ChildProcess.RunAsync(
            ChildProcess.StartInfo("node", ["keys.mjs", app.BaseAddress.ToString(), Key, screenshots], RepositoryPaths.BrowserTests),
            TimeSpan.FromMinutes(2));

        output.WriteLine(result.Stderr);
        var line = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.False(line is null, $"keys.mjs printed no summary (exit {result.ExitCode}).\n{result.Stderr}");
        output.WriteLine(line);
        var summary = JsonNode.Parse(line)!.AsObject();
        Assert.True(summary["failure"] is null, $"keys.mjs failed at {summary["failure"]}\n{result.Stderr}");
        Assert.Empty(summary["pageErrors"]!.AsArray());
        Assert.Equal("API key needed", summary["withoutKey"]!.GetValue<string>());
        Assert.NotEqual("", summary["startErrorWithoutKey"]!.GetValue<string>());
        Assert.False(summary["startErrorShownAfterTheRightKey"]!.GetValue<bool>(), "the missing key's error stayed after the right key was saved");
        Assert.Equal(1, summary["recentAfterTheRightKey"]!.GetValue<int>());
        var afterWrongKey = summary["recentAfterAWrongKey"]!;
        Assert.StartsWith("Could not load workflows: ", afterWrongKey["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0, afterWrongKey["listed"]!.GetValue<int>());
    }
}
