using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Felix.Server.Platform;
using Felix.Tests.Infrastructure;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace Felix.Tests.Platform;

/// <summary>
/// The OpenAPI document a client generator reads: valid, versioned like the product, with the bearer scheme and the
/// request bounds the server validates, and for every route exactly the statuses the server really answers (each one
/// provoked here) with the problem <c>type</c> and <c>title</c> it answers them with.
/// </summary>
public sealed partial class OpenApiDocumentTests
{
    private const string Key = "openapi-test-key";

    [Fact]
    public async Task DocumentIsValidOpenApiWithTheProductVersionAndTheBearerScheme()
    {
        await using var app = new FelixApplication();
        using var anonymous = app.CreateClient();
        await using var stream = await anonymous.GetStreamAsync("openapi/v1.json").DefaultTimeout();

        var (document, diagnostic) = await OpenApiDocument.LoadAsync(stream, "json").DefaultTimeout();

        Assert.Empty(diagnostic!.Errors);
        Assert.NotNull(document);
        Assert.Empty(document.Validate(ValidationRuleSet.GetDefaultRuleSet()) ?? []);
        Assert.Equal(SystemApi.Version, document.Info.Version);
        Assert.Equal("0.1.0", document.Info.Version);
        Assert.Contains("/hubs/workflows", document.Info.Description, StringComparison.Ordinal);
        Assert.Contains("/api/v1/ws/workflows/{id}", document.Info.Description, StringComparison.Ordinal);
        var bearer = Assert.Single(document.Components!.SecuritySchemes!).Value;
        Assert.Equal(SecuritySchemeType.Http, bearer.Type);
        Assert.Equal("bearer", bearer.Scheme);
        Assert.Single(Assert.Single(document.Security!));
    }

    [Fact]
    public async Task WorkflowRequestSchemaHasTheValidatedBoundsAndNoNumberIsAString()
    {
        await using var app = new FelixApplication();
        using var anonymous = app.CreateClient();

        var document = JsonNode.Parse(await anonymous.GetStringAsync("openapi/v1.json").DefaultTimeout())!;

        var request = document["components"]!["schemas"]!["WorkflowRequest"]!;
        Assert.Equal(["task"], request["required"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("string", request["properties"]!["task"]!["type"]!.GetValue<string>());
        Assert.Equal(1, request["properties"]!["task"]!["minLength"]!.GetValue<int>());
        Assert.Equal(10_000, request["properties"]!["task"]!["maxLength"]!.GetValue<int>());
        var maxSteps = request["properties"]!["max_steps"]!;
        Assert.Equal(["integer", "null"], maxSteps["type"]!.AsArray().Select(n => n!.GetValue<string>()).Order());
        Assert.Equal(1, maxSteps["minimum"]!.GetValue<int>());
        Assert.Equal(50, maxSteps["maximum"]!.GetValue<int>());
        var numbersAsStrings = document["components"]!["schemas"]!.AsObject()
            .SelectMany(schema => (schema.Value!["properties"]?.AsObject() ?? []).Select(p => (Name: $"{schema.Key}.{p.Key}", Type: p.Value!["type"])))
            .Where(p => p.Type is JsonArray types && types.Any(t => t!.GetValue<string>() is "integer" or "number") && types.Any(t => t!.GetValue<string>() == "string"))
            .Select(p => p.Name)
            .ToList();
        Assert.Empty(numbersAsStrings);
    }

    [Fact]
    public async Task ExamplesAreGivenForTheWorkflowBodies()
    {
        await using var app = new FelixApplication();
        using var anonymous = app.CreateClient();

        var paths = JsonNode.Parse(await anonymous.GetStringAsync("openapi/v1.json").DefaultTimeout())!["paths"]!;

        var create = paths["/api/v1/workflows"]!["post"]!;
        Assert.Equal("Explain quantum computing", create["requestBody"]!["content"]!["application/json"]!["example"]!["task"]!.GetValue<string>());
        Assert.Equal("pending", create["responses"]!["202"]!["content"]!["application/json"]!["example"]!["status"]!.GetValue<string>());
        var get = paths["/api/v1/workflows/{workflowId}"]!["get"]!;
        Assert.NotNull(get["responses"]!["200"]!["content"]!["application/json"]!["example"]!["synthesis"]!["confidence"]);
    }

    [Fact]
    public async Task The503ExamplesGiveTheConfiguredRetryAfterSeconds()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Workflows:RetryAfterSeconds"] = "7" });
        using var anonymous = app.CreateClient();

        var paths = JsonNode.Parse(await anonymous.GetStringAsync("openapi/v1.json").DefaultTimeout())!["paths"]!;

        var examples = paths["/api/v1/workflows"]!["post"]!["responses"]!["503"]!["content"]!["application/problem+json"]!["examples"]!;
        Assert.Equal("The database cannot be written. Retry after 7 seconds.",
            examples["Storage unavailable"]!["value"]!["detail"]!.GetValue<string>());
        Assert.Equal("The workflow queue is full. Retry after 7 seconds.", examples["Server busy"]!["value"]!["detail"]!.GetValue<string>());
    }
}
