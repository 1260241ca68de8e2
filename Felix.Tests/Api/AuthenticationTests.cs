using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Api;

public sealed class AuthenticationTests
{
    private static FelixApplication KeyedApplication() => new(new Dictionary<string, string?> { ["FELIX_API_KEY"] = "test-key-123" });

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    public async Task RestWithoutTheRightKeyReturns401Problem(string? key)
    {
        await using var app = KeyedApplication();
        using var client = app.CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        var create = await client.PostAsJsonAsync("api/v1/workflows", new { task = "Should not run" }).DefaultTimeout();
        var list = await client.GetAsync("api/v1/workflows").DefaultTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, create.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
        var problem = JsonNode.Parse(await create.Content.ReadAsStringAsync())!;
        Assert.Equal("Unauthorized", problem["title"]!.GetValue<string>());
        Assert.Equal("Bearer", create.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task RestWithTheKeyWorks()
    {
        await using var app = KeyedApplication();
        using var client = app.CreateApiClient();

        var created = await client.CreateWorkflowAsync("Authorized task", maxSteps: 1);

        Assert.StartsWith("wf_", created.WorkflowId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenServerNeedsNoKey()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateClient();

        var response = await client.GetAsync("api/v1/workflows").DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
