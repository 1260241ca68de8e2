using System.Net;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Platform;

public sealed partial class OpenApiDocumentTests
{
    /// <summary>
    /// A generated client reads a query parameter's range from its schema. Each range the document declares is the
    /// one the server validates: one past a bound answers 422 naming the parameter, the bound itself 200.
    /// </summary>
    [Fact]
    public async Task QueryParametersDeclareTheRangesAndValuesTheServerValidates()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key });
        using var client = app.CreateApiClient(Key);
        var id = (await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 1)).WorkflowId;
        var paths = JsonNode.Parse(await client.GetStringAsync("openapi/v1.json").DefaultTimeout())!["paths"]!;

        var declared = new List<(string Path, string Name, long? Minimum, long? Maximum)>();
        foreach (var path in new[] { "/api/v1/workflows", "/api/v1/workflows/{workflowId}/events" })
        {
            foreach (var parameter in paths[path]!["get"]!["parameters"]!.AsArray().Where(p => p!["in"]!.GetValue<string>() == "query"))
            {
                var schema = parameter!["schema"]!;
                if (schema["type"]?.GetValue<string>() == "integer")
                {
                    declared.Add((path, parameter["name"]!.GetValue<string>(), schema["minimum"]?.GetValue<long>(), schema["maximum"]?.GetValue<long>()));
                }
            }
        }

        Assert.Equal(
            [
                ("/api/v1/workflows", "page", 1L, null), ("/api/v1/workflows", "page_size", 1L, 100L),
                ("/api/v1/workflows/{workflowId}/events", "after", 0L, null), ("/api/v1/workflows/{workflowId}/events", "limit", 1L, 1000L),
            ],
            declared.Select(d => (d.Path, d.Name, d.Minimum, d.Maximum)));
        foreach (var (path, name, minimum, maximum) in declared)
        {
            var url = path.Replace("{workflowId}", id, StringComparison.Ordinal).TrimStart('/');
            foreach (var (value, valid) in new[] { (minimum - 1, false), (minimum, true), (maximum, true), (maximum + 1, false) })
            {
                if (value is { } v)
                {
                    await AssertQueryAnswerAsync(client, $"{url}?{name}={v}", name, valid);
                }
            }
        }

        var status = paths["/api/v1/workflows"]!["get"]!["parameters"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "status")!["schema"]!;
        var values = status["enum"]?.AsArray().Select(v => v!.GetValue<string>()).ToList() ?? [];
        Assert.Equal(WorkflowStatuses.All, values);
        foreach (var value in values)
        {
            await AssertQueryAnswerAsync(client, $"api/v1/workflows?status={value}", "status", valid: true);
        }

        await AssertQueryAnswerAsync(client, "api/v1/workflows?status=done", "status", valid: false);
    }

    /// <summary>
    /// The AG-UI body's schema requires what the server requires before a stream starts: a field the document lets a
    /// client leave out, or make longer, must not be refused with 422.
    /// </summary>
    [Fact]
    public async Task RunAgentInputSchemaRequiresTheFieldsTheServerRequires()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key });
        using var client = app.CreateApiClient(Key);
        var input = JsonNode.Parse(await client.GetStringAsync("openapi/v1.json").DefaultTimeout())!["components"]!["schemas"]!["RunAgentInput"]!;

        var required = input["required"]?.AsArray().Select(n => n!.GetValue<string>()).Order().ToList() ?? [];
        Assert.Equal(["messages", "runId", "threadId"], required);
        foreach (var id in new[] { "threadId", "runId" })
        {
            Assert.Equal("string", input["properties"]![id]!["type"]!.GetValue<string>());
            Assert.Equal(1, input["properties"]![id]!["minLength"]!.GetValue<int>());
            Assert.Equal(Felix.Server.AgUi.AgUiRunRequest.MaxIdLength, input["properties"]![id]!["maxLength"]!.GetValue<int>());
        }

        Assert.Equal("array", input["properties"]!["messages"]!["type"]!.GetValue<string>());
        Assert.Equal(1, input["properties"]!["messages"]!["minItems"]!.GetValue<int>());

        foreach (var field in required)
        {
            var body = new JsonObject
            {
                ["threadId"] = "thread-schema",
                ["runId"] = "run-1",
                ["messages"] = new JsonArray(new JsonObject { ["id"] = "message-1", ["role"] = "user", ["content"] = "Explain quantum computing" }),
            };
            body.Remove(field);
            await AssertRunRefusedAsync(client, body, field);
        }

        await AssertRunRefusedAsync(client, new JsonObject
        {
            ["threadId"] = new string('t', Felix.Server.AgUi.AgUiRunRequest.MaxIdLength + 1),
            ["runId"] = "run-1",
            ["messages"] = new JsonArray(new JsonObject { ["id"] = "message-1", ["role"] = "user", ["content"] = "Explain quantum computing" }),
        }, "threadId");
    }

    private static async Task AssertRunRefusedAsync(HttpClient client, JsonObject body, string field)
    {
        using var response = await client.PostAsync("api/v1/agui", new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json")).DefaultTimeout();
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync().DefaultTimeout())!;
        Assert.NotNull(problem["errors"]?[field]);
    }

    private static async Task AssertQueryAnswerAsync(HttpClient client, string url, string name, bool valid)
    {
        using var response = await client.GetAsync(url).DefaultTimeout();
        if (valid)
        {
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url} answered {(int)response.StatusCode}, though the document allows it");
            return;
        }

        Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"{url} answered {(int)response.StatusCode}, not 422");
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync().DefaultTimeout())!;
        Assert.NotNull(problem["errors"]?[name]);
    }
}
