using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Felix.Tests.Web;

/// <summary>
/// What the dashboard says when a REST call does not reach Felix Server (tests/browser/unreachable.mjs, Debian's
/// Chromium): a refused connection and a proxy's HTML error page each give a sentence a person can act on, not the
/// browser's "Failed to fetch" or a JSON parser's complaint about '&lt;'.
/// </summary>
public sealed class DashboardUnreachableBrowserTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task ARefusedConnectionAndAProxyErrorPageAreNamedPlainly()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/install-test-deps.sh.");
        Assert.True(Directory.Exists(Path.Combine(RepositoryPaths.BrowserTests, "node_modules", "playwright-core")),
            "tests/browser/node_modules is missing: run scripts/install-test-deps.sh.");
        await using var app = new FelixApplication(kestrel: true);
        var screenshots = Path.Combine(RepositoryPaths.Screenshots, "unreachable");

        var result = await ChildProcess.RunAsync(
            ChildProcess.StartInfo("node", ["unreachable.mjs", app.BaseAddress.ToString(), screenshots], RepositoryPaths.BrowserTests),
            TimeSpan.FromMinutes(2));

        output.WriteLine(result.Stderr);
        var line = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.False(line is null, $"unreachable.mjs printed no summary (exit {result.ExitCode}).\n{result.Stderr}");
        output.WriteLine(line);
        var summary = JsonNode.Parse(line)!.AsObject();
        Assert.True(summary["failure"] is null, $"unreachable.mjs failed at {summary["failure"]}\n{result.Stderr}");
        Assert.Empty(summary["pageErrors"]!.AsArray());
        Assert.Equal("Cannot reach Felix Server (Failed to fetch). Is it running? Try again in a moment.", summary["startError"]!.GetValue<string>());
        Assert.Equal("Could not load workflows: HTTP 502 Bad Gateway", summary["recentError"]!.GetValue<string>());
    }
}
