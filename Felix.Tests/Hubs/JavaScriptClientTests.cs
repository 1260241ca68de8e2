using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Tests.Infrastructure;
using Felix.Tests.Security;

namespace Felix.Tests.Hubs;

/// <summary>
/// The official <c>@microsoft/signalr</c> client in Node, against the server on Kestrel: a JavaScript client must see the
/// very same object under JSON and MessagePack. Needs <c>tests/js/node_modules</c> (scripts/install-test-deps.sh).
/// </summary>
public sealed class JavaScriptClientTests
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task JsonAndMessagePackGiveTheJavaScriptClientTheSameKeysPerEventType()
    {
        await using var app = new FelixApplication(kestrel: true);
        var methods = string.Join(",", typeof(IWorkflowClient).GetMethods().Select(m => m.Name));

        var output = await RunNodeAsync("hub-payloads.mjs", app.BaseAddress.ToString(), methods);

        var json = output["json"]!.AsObject();
        var messagePack = output["messagepack"]!.AsObject();
        var jsonKeys = KeysByType(json);
        var messagePackKeys = KeysByType(messagePack);
        Assert.Equal(jsonKeys.Keys.Order(), messagePackKeys.Keys.Order());
        foreach (var (type, keys) in jsonKeys)
        {
            Assert.True(EventTypes.IsKnown(type), $"unknown event type '{type}'");
            Assert.Equal(keys, messagePackKeys[type]);
            Assert.Superset(
                new HashSet<string> { "type", "workflowId", "sequence", "eventId", "timestamp" },
                keys.ToHashSet());
        }

        Assert.Contains(EventTypes.AgentSpawned, jsonKeys.Keys);
        Assert.Contains(EventTypes.WorkflowComplete, jsonKeys.Keys);
        Assert.Contains("agentId", jsonKeys[EventTypes.AgentSpawned]);
        Assert.Contains("synthesis.agentsSynthesized", jsonKeys[EventTypes.WorkflowComplete]);
        foreach (var run in new[] { json, messagePack })
        {
            Assert.Equal(Strings(run["subscriptionKeys"]), Strings(json["subscriptionKeys"]));
            Assert.Equal(Strings(run["workflowKeys"]), Strings(json["workflowKeys"]));
            var sequences = run["sequences"]!.AsArray().Select(s => s!.GetValue<long>()).ToList();
            Assert.Equal(Enumerable.Range(1, sequences.Count).Select(i => (long)i), sequences);
            foreach (var (type, method) in run["methodOf"]!.AsObject())
            {
                Assert.Equal(type, JsonNamingPolicy.SnakeCaseLower.ConvertName(method!.GetValue<string>()));
            }
        }
    }

    /// <summary>
    /// docs/hubs.md's Subscribe example, as written, on tokens that live about three seconds (tests/js/token-refresh.mjs
    /// serves them and approves once the program has resumed twice): the server closes its connection at each expiry,
    /// the program comes back through its token factory, and what it printed is the stored history exactly.
    /// </summary>
    [Fact]
    public async Task DocumentedJavaScriptExampleResumesOnFreshTokensWithoutGapOrDuplicate()
    {
        var block = Assert.Single(Docs.DocCodeBlock.InFile("docs/hubs.md"), b => b.Language == "js" && b.Code.Contains("accessTokenFactory: getToken", StringComparison.Ordinal));
        await using var app = TenantApplication.Create(
            new Dictionary<string, string?>
            {
                ["Felix:Security:Jwt:ClockSkew"] = "00:00:00",
                ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.015", // paced, so an expiry can land while events stream
            },
            kestrel: true);
        var directory = Path.Combine(ChildProcess.RepositoryRoot, "tests", "js");
        // Beside tests/js/node_modules, where node resolves the example's imports; .doc-snippets/ is ignored by git.
        var program = Path.Combine(directory, ".doc-snippets", $"token-refresh.{Guid.NewGuid():N}.mjs");
        Directory.CreateDirectory(Path.GetDirectoryName(program)!);
        await File.WriteAllTextAsync(program, block.Code.Replace("http://localhost:8000/", app.BaseAddress.ToString(), StringComparison.Ordinal));
        JsonObject summary;
        try
        {
            summary = await RunNodeAsync("token-refresh.mjs", app.BaseAddress.ToString(), program, TenantApplication.JwtSigningKey, "felix-tests", "felix", "tenant-a");
        }
        finally
        {
            File.Delete(program);
        }

        Assert.Equal(0, summary["exitCode"]!.GetValue<int>());
        var id = summary["workflowId"]!.GetValue<string>();
        using var owner = app.CreateApiClient(TenantApplication.KeyA);
        Assert.Equal(WorkflowStatuses.Completed, (await owner.WaitForTerminalAsync(id)).Status);
        var stored = await owner.ReadEventsAsync(id);
        var resumedAfter = summary["resumedAfter"]!.AsArray().Select(n => n!.GetValue<long>()).ToList();
        // Each token is asked for at a connect; two resumes mean two connections the server closed at expiry.
        Assert.True(resumedAfter.Count >= 2, $"resumed after {string.Join(", ", resumedAfter)}");
        Assert.True(summary["tokensIssued"]!.GetValue<int>() > resumedAfter.Count, summary.ToJsonString());
        Assert.Equal(
            stored.Select(e => $"{e.Sequence} {e.Type}"),
            summary["events"]!.AsArray().Select(e => $"{e!["sequence"]} {e["type"]}"));
    }

    private static Dictionary<string, string[]> KeysByType(JsonObject run) =>
        run["keys"]!.AsObject().ToDictionary(p => p.Key, p => Strings(p.Value));

    private static string[] Strings(JsonNode? array) => array!.AsArray().Select(k => k!.GetValue<string>()).ToArray();

    private static async Task<JsonObject> RunNodeAsync(string script, params string[] arguments)
    {
        var directory = Path.Combine(ChildProcess.RepositoryRoot, "tests", "js");
        Assert.True(
            Directory.Exists(Path.Combine(directory, "node_modules")),
            "tests/js/node_modules is missing: run scripts/install-test-deps.sh");

        var result = await ChildProcess.RunAsync(ChildProcess.StartInfo("node", [script, .. arguments], directory).WithApiKey(null), ScriptTimeout);

        Assert.True(result.ExitCode == 0, $"node {script}: {result}");
        return JsonNode.Parse(result.Stdout)!.AsObject();
    }
}
