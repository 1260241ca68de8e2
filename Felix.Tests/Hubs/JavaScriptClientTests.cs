using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Tests.Infrastructure;

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

    private static Dictionary<string, string[]> KeysByType(JsonObject run) =>
        run["keys"]!.AsObject().ToDictionary(p => p.Key, p => Strings(p.Value));

    private static string[] Strings(JsonNode? array) => array!.AsArray().Select(k => k!.GetValue<string>()).ToArray();

    private static async Task<JsonObject> RunNodeAsync(string script, params string[] arguments)
    {
        var directory = Path.Combine(ChildProcess.RepositoryRoot, "tests", "js");
        Assert.True(
            Directory.Exists(Path.Combine(directory, "node_modules")),
            "tests/js/node_modules is missing: run scripts/install-test-deps.sh");

        var result = await ChildProcess.RunAsync(ChildProcess.StartInfo("node", [script, .. arguments], directory), ScriptTimeout);

        Assert.True(result.ExitCode == 0, $"node {script}: {result}");
        return JsonNode.Parse(result.Stdout)!.AsObject();
    }
}
