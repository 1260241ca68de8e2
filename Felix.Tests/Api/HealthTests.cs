using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Felix.Tests.Agents;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Api;

public sealed class HealthTests
{
    private static FelixApplication OpenAI(Uri endpoint, string? apiKey = null) => new(new Dictionary<string, string?>
    {
        ["Felix:Llm:Provider"] = "OpenAI",
        ["Felix:Llm:Endpoint"] = endpoint.ToString(),
        ["Felix:Llm:Model"] = "fake-model",
        ["Felix:Llm:ApiKey"] = apiKey,
    });

    private static async Task<(HttpStatusCode Status, JsonObject Body)> ReadyAsync(FelixApplication app)
    {
        using var client = app.CreateClient();
        var response = await client.GetAsync("health/ready").DefaultTimeout();
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    [Fact]
    public async Task AModelEndpointThatDoesNotAnswerLeavesTheNodeReadyButDegraded()
    {
        await using var app = OpenAI(new Uri($"http://127.0.0.1:{LoopbackPort.Unused()}/v1"));

        var (status, body) = await ReadyAsync(app);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Degraded", body["status"]!.GetValue<string>());
        Assert.Equal("Degraded", body["entries"]!["llm"]!["status"]!.GetValue<string>());
        Assert.Equal("Healthy", body["entries"]!["engine"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task AModelEndpointThatAnswersIsHealthy()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        await using var app = OpenAI(fake.Endpoint);

        var (status, body) = await ReadyAsync(app);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", body["status"]!.GetValue<string>());
        Assert.Equal("Healthy", body["entries"]!["llm"]!["status"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    public async Task AModelEndpointThatRefusesTheKeyIsDegradedNamingTheSetting(int refusal)
    {
        // Every workflow would fail with "answered HTTP 401" while readiness said the model endpoint was fine.
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.ModelsStatus = refusal;
        await using var app = OpenAI(fake.Endpoint);

        var (status, body) = await ReadyAsync(app);

        Assert.Equal(HttpStatusCode.OK, status);
        var llm = body["entries"]!["llm"]!;
        Assert.Equal("Degraded", llm["status"]!.GetValue<string>());
        Assert.Contains("Felix:Llm:ApiKey", llm["description"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AModelEndpointWithoutV1IsDegradedNamingTheSetting()
    {
        // Readiness said the endpoint answered (a 404 counted as an answer) while every workflow failed with HTTP 404.
        await using var fake = await FakeOpenAIServer.StartAsync();
        await using var app = OpenAI(new Uri(fake.Endpoint.GetLeftPart(UriPartial.Authority)), apiKey: "sk-felix-health-secret");

        var (status, body) = await ReadyAsync(app);

        Assert.Equal(HttpStatusCode.OK, status);
        var llm = body["entries"]!["llm"]!;
        Assert.Equal("Degraded", llm["status"]!.GetValue<string>());
        Assert.Equal(
            "The model endpoint answers HTTP 404 for /models: check Felix:Llm:Endpoint (the API's base address, which usually ends with /v1).",
            llm["description"]!.GetValue<string>());
        Assert.DoesNotContain("sk-felix-health-secret", body.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UptimeCountsFromTheStartOfTheProcess()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        // This test process started before the server's first request; the uptime must cover at least its age.
        var processAge = (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds;

        var status = JsonNode.Parse(await client.GetStringAsync("api/v1/system/status").DefaultTimeout())!.AsObject();

        Assert.True(status["uptime_seconds"]!.GetValue<double>() >= Math.Floor(processAge * 10) / 10 - 0.1,
            $"uptime {status["uptime_seconds"]} s, process age {processAge:0.0} s");
    }
}
