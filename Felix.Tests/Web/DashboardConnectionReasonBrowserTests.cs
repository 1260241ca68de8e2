using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;
using Xunit.Abstractions;

namespace Felix.Tests.Web;

/// <summary>
/// Why the hub connection is down, next to its state (tests/browser/connection-reason.mjs, Debian's Chromium, a real
/// server process): a draining server and a refused key each get a short sentence a person can act on, with the server's
/// own sentence in the tooltip; never the problem's raw JSON, and server text escaped as any other hostile text.
/// </summary>
public sealed class DashboardConnectionReasonBrowserTests(ITestOutputHelper output) : DataDirectoryTest
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Key = "k-dashboard-reason";

    [Fact]
    public async Task ADrainAndARefusedKeyAreNamedNextToTheStateNeverAsRawJson()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/install-test-deps.sh.");
        Assert.True(Directory.Exists(Path.Combine(RepositoryPaths.BrowserTests, "node_modules", "playwright-core")),
            "tests/browser/node_modules is missing: run scripts/install-test-deps.sh.");
        // Paced, and a grace period longer than the script's wait, so the node is still draining when the page reconnects.
        var settings = StorageTestSettings.SqliteFile(Files.Directory,
                ("FELIX_API_KEY", Key), ("Felix:Llm:OfflineTokenDelay", "00:00:00.100"), ("Felix:Workflows:ShutdownGracePeriod", "00:01:00"))
            .ToDictionary(p => p.Key, p => p.Value!);
        await using var server = await ServerProcess.StartAsync(Files.Directory, settings);
        var screenshots = Path.Combine(RepositoryPaths.Screenshots, "connection-reason");

        var result = await ChildProcess.RunAsync(
            ChildProcess.StartInfo("node", ["connection-reason.mjs", server.BaseAddress.ToString(), Key, server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), screenshots],
                RepositoryPaths.BrowserTests),
            TimeSpan.FromMinutes(2));

        output.WriteLine(result.Stderr);
        var line = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.False(line is null, $"connection-reason.mjs printed no summary (exit {result.ExitCode}).\n{result.Stderr}");
        output.WriteLine(line);
        var summary = JsonNode.Parse(line)!.AsObject();
        Assert.True(summary["failure"] is null, $"connection-reason.mjs failed at {summary["failure"]}\n{result.Stderr}");
        Assert.Empty(summary["pageErrors"]!.AsArray());

        var draining = summary["draining"]!;
        Assert.Equal(("disconnected", "server restarting, reconnecting…"), (Text(draining, "state"), Text(draining, "reason")));
        Assert.True(draining["reasonVisible"]!.GetValue<bool>(), "the reason is not on show, or cut short");
        Assert.StartsWith("The server is stopping and takes no new connections.", Text(draining, "reasonTooltip"), StringComparison.Ordinal);

        var wrongKey = summary["wrongKey"]!;
        Assert.Equal(("API key needed", "key refused: check the API key"), (Text(wrongKey, "state"), Text(wrongKey, "reason")));
        Assert.StartsWith("The API key is not valid.", Text(wrongKey, "reasonTooltip"), StringComparison.Ordinal);

        // Server text in a problem is shown as text, its bidi override as an escape, like a hostile task.
        var hostile = summary["hostile"]!;
        Assert.Equal("server restarting, reconnecting…", Text(hostile, "reason"));
        Assert.StartsWith("""Back \u202esoon\u202c <img src=x onerror="window.pwned=1">""", Text(hostile, "reasonTooltip"), StringComparison.Ordinal);
        Assert.Equal(0, hostile["elementsInReason"]!.GetValue<int>());
        Assert.Null(summary["pwned"]);

        foreach (var shown in new[] { draining, wrongKey, hostile })
        {
            foreach (var field in new[] { "state", "reason", "stateTooltip", "reasonTooltip" })
            {
                Assert.DoesNotContain("{", Text(shown, field), StringComparison.Ordinal);
                Assert.DoesNotContain("Status code", Text(shown, field), StringComparison.Ordinal);
            }
        }
    }

    private static string Text(JsonNode shown, string field) => shown[field]!.GetValue<string>();
}
