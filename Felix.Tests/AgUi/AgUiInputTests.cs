using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.AgUi;

/// <summary>
/// Malformed and oversized input to <c>POST /api/v1/agui</c>: refused with a problem before any stream, never a 500, and
/// never costing more than a run's worth of work.
/// </summary>
public sealed class AgUiInputTests
{
    private const string Task = "Explain quantum computing";

    // A JSON null in the list deserializes as a null entry, which was dereferenced: a 500 for a merely malformed body.
    [Fact]
    public async Task ANullMessageIsRefusedWith422NamingMessages()
    {
        await using var app = new FelixApplication(kestrel: true);
        using var client = app.CreateApiClient();

        using var response = await client.PostAsJsonAsync("api/v1/agui", new
        {
            threadId = "thread-null",
            runId = "run-1",
            messages = new object?[] { null, new { id = "message-1", role = "user", content = Task } },
        }).DefaultTimeout();

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("messages must be a list of message objects (id, role, content).", problem["errors"]!["messages"]![0]!.GetValue<string>());
        Assert.Equal(0, (await client.GetFromJsonAsync<JsonObject>("api/v1/workflows").DefaultTimeout())!["total"]!.GetValue<int>());
    }
}
