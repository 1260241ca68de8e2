using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;
using Xunit.Abstractions;

namespace Felix.Tests.Web;

/// <summary>
/// A workflow opened just as the server begins to drain (tests/browser/drain-open.mjs, Debian's Chromium, real server
/// processes): its Subscribe, cut short by the drain, is told as a restart a person understands, never SignalR's
/// message, and the page comes back by itself once the server is up again, the workflow shown with its real status.
/// </summary>
public sealed class DashboardDrainBrowserTests(ITestOutputHelper output) : DataDirectoryTest
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Key = "k-dashboard-drain";

    [Fact]
    public async Task AWorkflowOpenedAsTheServerDrainsSaysItRestartsAndRecoversByItself()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/install-test-deps.sh.");
        Assert.True(Directory.Exists(Path.Combine(RepositoryPaths.BrowserTests, "node_modules", "playwright-core")),
            "tests/browser/node_modules is missing: run scripts/install-test-deps.sh.");
        // Paced so the workflow still runs at the SIGTERM; a short grace period so the drain ends soon after.
        var settings = StorageTestSettings.SqliteFile(Files.Directory,
                ("FELIX_API_KEY", Key), ("Felix:Llm:OfflineTokenDelay", "00:00:00.050"), ("Felix:Workflows:ShutdownGracePeriod", "00:00:05"))
            .ToDictionary(p => p.Key, p => p.Value!);
        var first = await ServerProcess.StartAsync(Files.Directory, settings);
        ServerProcess? second = null;
        var restartFile = Path.Combine(Files.Directory, "restart-now");
        try
        {
            var script = ChildProcess.RunAsync(
                ChildProcess.StartInfo("node", ["drain-open.mjs", first.BaseAddress.ToString(), Key,
                    first.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), restartFile,
                    Path.Combine(RepositoryPaths.Screenshots, "drain-open")], RepositoryPaths.BrowserTests),
                TimeSpan.FromMinutes(3));
            await Poll.UntilAsync(() => Task.FromResult(File.Exists(restartFile) || script.IsCompleted), "the script to ask for the restart",
                TimeSpan.FromMinutes(2));
            if (File.Exists(restartFile))
            {
                await first.WaitForExitAsync(TimeSpan.FromSeconds(60));
                second = await ServerProcess.StartAsync(Files.Directory, settings, port: first.BaseAddress.Port);
            }

            var result = await script;
            output.WriteLine(result.Stderr);
            var line = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
            Assert.False(line is null, $"drain-open.mjs printed no summary (exit {result.ExitCode}).\n{result.Stderr}");
            output.WriteLine(line);
            var summary = JsonNode.Parse(line)!.AsObject();
            Assert.True(summary["failure"] is null, $"drain-open.mjs failed at {summary["failure"]}\n{line}\n{result.Stderr}");
            Assert.Empty(summary["pageErrors"]!.AsArray());

            var draining = summary["draining"]!;
            Assert.Equal("The server is restarting; reconnecting…", draining["error"]?.GetValue<string>());
            Assert.NotEqual("unavailable", draining["status"]!.GetValue<string>());

            var back = summary["back"]!;
            Assert.Equal("connected", back["connection"]!.GetValue<string>());
            Assert.Null(back["error"]?.GetValue<string>());
            Assert.Contains(back["status"]!.GetValue<string>(), new[] { WorkflowStatuses.Running, WorkflowStatuses.Completed });
        }
        finally
        {
            if (second is not null)
            {
                await second.DisposeAsync();
            }

            await first.DisposeAsync();
        }
    }
}
