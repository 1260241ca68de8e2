using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Security;

/// <summary>
/// DNS rebinding: a page on evil.example whose name resolves to 127.0.0.1 reaches a developer's open server with
/// <c>Host: evil.example</c>. An open server (no key, no token issuer) answers only loopback names unless
/// <c>AllowedHosts</c> says otherwise; a server with credentials keeps answering every name, as before.
/// </summary>
public sealed class OpenModeHostTests
{
    private static HttpRequestMessage Get(string path, string host)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = host;
        return request;
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("evil.example:8000")]
    [InlineData("127.0.0.1.evil.example")]
    [InlineData("localhost.evil.example:8000")]
    public async Task AnOpenServerRefusesANameThatIsNotLoopbackWith400SayingHowToAllowIt(string host)
    {
        await using var app = new FelixApplication(kestrel: true);
        using var client = app.CreateApiClient();

        using var response = await client.SendAsync(Get("api/v1/workflows", host)).DefaultTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal("Host not allowed", problem["title"]!.GetValue<string>());
        var detail = problem["detail"]!.GetValue<string>();
        Assert.Contains("no API key", detail, StringComparison.Ordinal);
        Assert.Contains("AllowedHosts", detail, StringComparison.Ordinal);
        Assert.NotNull(problem["trace_id"]);
        var socket = await Assert.ThrowsAsync<WebSocketException>(() => app.ConnectRawAsync("api/v1/ws/system/events", o => o.SetRequestHeader("Host", host)));
        Assert.Contains("400", socket.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("localhost:8000")]
    [InlineData("LOCALHOST:8000")]
    [InlineData("127.0.0.1:5173")]
    [InlineData("[::1]:8000")]
    public async Task AnOpenServerAnswersLoopbackNamesOnAnyPort(string host)
    {
        await using var app = new FelixApplication(kestrel: true);
        using var client = app.CreateApiClient();

        using var response = await client.SendAsync(Get("api/v1/workflows", host)).DefaultTimeout();
        using var socket = await app.ConnectRawAsync("api/v1/ws/system/events", o => o.SetRequestHeader("Host", host));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(WebSocketState.Open, socket.State);
    }

    [Fact]
    public async Task AllowedHostsOpensAnOpenServerToTheNamesItLists()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["AllowedHosts"] = "felix.internal;localhost" }, kestrel: true);
        using var client = app.CreateApiClient();

        using var listed = await client.SendAsync(Get("api/v1/workflows", "felix.internal:8000")).DefaultTimeout();
        using var other = await client.SendAsync(Get("api/v1/workflows", "evil.example")).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
    }

    [Fact]
    public async Task AServerWithAKeyAnswersEveryNameAsBefore()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = "host-test-key" }, kestrel: true);
        using var client = app.CreateApiClient();

        using var response = await client.SendAsync(Get("api/v1/workflows", "felix.example.com")).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, (await response.Content.ReadFromJsonAsync<JsonObject>())!["total"]!.GetValue<int>());
    }
}
