using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using Felix.Tests.Security;
using Xunit.Abstractions;

namespace Felix.Tests.Web;

/// <summary>
/// The dashboard in Debian's Chromium on short-lived JWTs, driven by tests/browser/token-refresh.mjs: tokens from a
/// token endpoint (JSON) and from <c>window.felixTokenProvider</c> (MessagePack) live about three seconds, so the server
/// closes the hub connection several times in one run; the dashboard must come back on a fresh token each time and end
/// with exactly the server's history.
/// </summary>
public sealed class DashboardTokenRefreshBrowserTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task DashboardReconnectsOnFreshTokensAndHoldsTheStoredHistoryExactly()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/install-test-deps.sh.");
        Assert.True(Directory.Exists(Path.Combine(RepositoryPaths.BrowserTests, "node_modules", "playwright-core")),
            "tests/browser/node_modules is missing: run scripts/install-test-deps.sh.");
        // A paced model and a wait before the synthesis: the run outlives its tokens while events still stream.
        await using var app = TenantApplication.Create(
            new Dictionary<string, string?>
            {
                ["Felix:Security:Jwt:ClockSkew"] = "00:00:00",
                ["Felix:Approvals:BeforeSynthesis"] = "true",
                ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.010",
            },
            kestrel: true);
        var screenshots = Path.Combine(RepositoryPaths.Screenshots, "token-refresh");

        var result = await ChildProcess.RunAsync(
            ChildProcess.StartInfo(
                "node",
                ["token-refresh.mjs", app.BaseAddress.ToString(), screenshots, TenantApplication.JwtSigningKey, "felix-tests", "felix", "tenant-a"],
                RepositoryPaths.BrowserTests),
            TimeSpan.FromMinutes(3));

        output.WriteLine(result.Stderr);
        var line = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.False(line is null, $"token-refresh.mjs printed no summary (exit {result.ExitCode}).\n{result.Stderr}");
        var summary = JsonNode.Parse(line)!.AsObject();
        Assert.True(summary["failure"] is null, $"token-refresh.mjs failed at {summary["failure"]}\n{result.Stderr}");
        Assert.Empty(summary["pageErrors"]!.AsArray());
        var runs = summary["runs"]!.AsArray().Select(r => r!.AsObject()).ToList();
        Assert.Equal(["endpoint", "provider"], runs.Select(r => r["source"]!.GetValue<string>()));
        var contract = runs[0]["sourceContract"]!.AsObject();
        Assert.True(contract["servedLongLived"]!.GetValue<bool>(), contract.ToJsonString());
        Assert.Equal(contract["first"]!.GetValue<string>(), contract["second"]!.GetValue<string>());
        Assert.Equal(1, contract["plainServed"]!.GetValue<int>()); // ten minutes left: the second call is answered from the cache
        Assert.Equal("the-key", contract["key"]!.GetValue<string>());
        Assert.Equal("from-provider", contract["provided"]!.GetValue<string>());
        Assert.Equal("endpoint", contract["kind"]!.GetValue<string>());
        using var api = app.CreateApiClient(TenantApplication.KeyA);
        foreach (var run in runs)
        {
            var source = run["source"]!.GetValue<string>();
            var id = run["workflowId"]!.GetValue<string>();
            Assert.Equal(WorkflowStatuses.Completed, (await api.WaitForTerminalAsync(id)).Status);
            var stored = await api.ReadEventsAsync(id);
            var dashboard = run["dashboard"]!.AsObject();

            // Closed at each expiry and back on a new token every time (one for each connect and each REST call).
            Assert.True(run["reconnects"]!.GetValue<int>() >= 2, $"{source}: {run}");
            Assert.True(run["tokensIssued"]!.GetValue<int>() > run["reconnects"]!.GetValue<int>(), $"{source}: {run}");
            // Sequences only grow in the dashboard's list, so N events ending at #N are 1..N: no gap, no duplicate.
            Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (long)i), stored.Select(e => e.Sequence));
            Assert.Equal(stored.Count, dashboard["lastSequence"]!.GetValue<int>());
            Assert.Equal(stored.Count, dashboard["eventCount"]!.GetValue<int>());
            Assert.Equal(stored.Count(e => e is AgentOutputDeltaEvent or AgentReasoningDeltaEvent), dashboard["deltaCount"]!.GetValue<int>());
            Assert.Equal(
                stored.Where(e => e is not AgentOutputDeltaEvent and not AgentReasoningDeltaEvent).Select(e => $"{e.Sequence} {e.Type}"),
                dashboard["timeline"]!.AsArray().Select(t => $"{t!["sequence"]} {t["type"]}"));
            Assert.Contains(stored, e => e is ApprovalResolvedEvent { Decision: "approve", DecidedBy: "dashboard-user" });
        }
    }
}
