using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Server.Workflows;
using Felix.Tests.Compat;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Felix.Tests.Web;

/// <summary>
/// The raw-protocol page (<c>clients/web/compat.html</c>) opened from disk in Debian's Chromium, driven by
/// tests/browser/compat-page.mjs against a real server: where its stream ends, and when it stops reconnecting.
/// </summary>
public sealed class CompatPageBrowserTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";

    /// <summary>
    /// A cancel ends the stream with a workflow_status "cancelled" and a 1000 close (docs/compatibility.md): the page
    /// stops there on its one socket, shows the status and can start again, instead of reconnecting to a finished stream.
    /// </summary>
    [Fact]
    public async Task CompatPageStopsAtACancelAndShowsTheWorkflowCancelled()
    {
        // The model never answers, so the run is still at work when the cancel comes.
        var model = new HeldModel();
        await using var app = CompatTestSupport.CreateServer(("FELIX_CORS_ORIGINS", "*")).WithServices(model.Install);

        var (summary, line) = await RunPageAsync(app, "cancel");

        Assert.Equal(204, summary["deleteStatus"]!.GetValue<int>());
        using var api = app.CreateApiClient();
        Assert.Equal(WorkflowStatuses.Cancelled, (await api.GetWorkflowAsync(summary["workflowId"]!.GetValue<string>())).Status);
        Assert.Equal(1, summary["socketsBeforeCancel"]!.GetValue<int>());
        Assert.True(summary["sockets"]!.GetValue<int>() == 1, $"the page opened {summary["sockets"]} sockets\n{line}");
        Assert.Equal("Cancelled", summary["status"]!.GetValue<string>());
        Assert.Equal("dot cancelled", summary["dot"]!.GetValue<string>());
        Assert.True(summary["startEnabled"]!.GetValue<bool>(), "the page cannot start another workflow");
        var events = summary["events"]!.AsArray().Select(e => (Type: e!["type"]!.GetValue<string>(), Text: e["text"]!.GetValue<string>())).ToList();
        Assert.Single(events, e => e == ("workflow_status", "Status: cancelled"));
        Assert.Equal(("workflow_status", "Status: cancelled"), events[^1]);
        Assert.Single(events, e => e.Type == "connected");
    }

    /// <summary>
    /// A socket that opens but brings no new event is no progress: against a server that accepts and closes every
    /// connection with 1013 before any event, the page gives up after its 5 reconnects and says so.
    /// </summary>
    [Fact]
    public async Task CompatPageGivesUpAfterFiveReconnectsThatBringNoNewEvent()
    {
        await using var app = CompatTestSupport.CreateServer(("FELIX_CORS_ORIGINS", "*"))
            .WithServices(services => DelegatingWorkflowStore.Decorate(services, inner => new UnreadableRecords(inner)));

        var (summary, line) = await RunPageAsync(app, "unavailable");

        Assert.True(summary["sockets"]!.GetValue<int>() == 6, $"the page opened {summary["sockets"]} sockets\n{line}");
        Assert.Equal("Connection lost", summary["status"]!.GetValue<string>());
        Assert.True(summary["startEnabled"]!.GetValue<bool>(), "the page cannot start another workflow");
    }

    private async Task<(JsonObject Summary, string Line)> RunPageAsync(FelixApplication app, string scenario)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/install-test-deps.sh.");
        Assert.True(Directory.Exists(Path.Combine(RepositoryPaths.BrowserTests, "node_modules", "playwright-core")),
            "tests/browser/node_modules is missing: run scripts/install-test-deps.sh.");
        var screenshots = Path.Combine(RepositoryPaths.Screenshots, "compat");

        var result = await ChildProcess.RunAsync(
            ChildProcess.StartInfo("node", ["compat-page.mjs", app.BaseAddress.ToString(), CompatTestSupport.Key, screenshots, scenario], RepositoryPaths.BrowserTests),
            TimeSpan.FromMinutes(2));

        output.WriteLine(result.Stderr);
        var line = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.False(line is null, $"compat-page.mjs printed no summary (exit {result.ExitCode}).\n{result.Stderr}");
        output.WriteLine(line);
        var summary = JsonNode.Parse(line)!.AsObject();
        Assert.True(summary["failure"] is null, $"compat-page.mjs failed at {summary["failure"]}\n{result.Stderr}");
        Assert.Empty(summary["pageErrors"]!.AsArray());
        return (summary, line);
    }

    /// <summary>Every read of a workflow's record fails as SQLite does when its file cannot be read (SQLITE_IOERR).</summary>
    private sealed class UnreadableRecords(IWorkflowStore inner) : DelegatingWorkflowStore(inner)
    {
        public override Task<WorkflowRecord?> GetAsync(string id, CancellationToken cancellationToken = default) =>
            Task.FromException<WorkflowRecord?>(new SqliteException("disk I/O error", 10));
    }
}
