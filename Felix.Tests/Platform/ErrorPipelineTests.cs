using System.Net;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Platform;

/// <summary>Only upgrades to the streaming endpoints leave the problem-details middlewares out.</summary>
public sealed class ErrorPipelineTests
{
    [Fact]
    public async Task AnUpgradeRequestToAnUnknownPathStillGetsProblemDetails()
    {
        await using var app = new FelixApplication(kestrel: true);
        using var client = app.CreateApiClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "nowhere");
        request.Headers.Connection.Add("Upgrade");
        request.Headers.Upgrade.Add(new System.Net.Http.Headers.ProductHeaderValue("websocket"));
        request.Headers.Add("Sec-WebSocket-Version", "13");
        request.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(Guid.NewGuid().ToByteArray()));

        using var response = await client.SendAsync(request).DefaultTimeout();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
