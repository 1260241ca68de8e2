using System.Net;
using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Api;

/// <summary>
/// <c>HEAD</c> on what answers <c>GET</c> (RFC 9110 9.3.2): the status and headers a <c>GET</c> would get, and no body,
/// over a real socket, where Kestrel drops the body a handler writes.
/// </summary>
public sealed class HeadRequestTests
{
    private const string Key = "head-request-key";

    /// <summary>Headers that differ between any two answers, or that only describe how a body was framed.</summary>
    private static readonly HashSet<string> Varying = new(StringComparer.OrdinalIgnoreCase) { "Date", "Transfer-Encoding", "Content-Length", "Last-Modified" };

    [Fact]
    public async Task HeadAnswersAsGetWouldWithTheSameStatusAndHeadersAndNoBody()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key }, kestrel: true);
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync(maxSteps: 1);
        await client.WaitForTerminalAsync(workflow.WorkflowId);

        string[] paths =
        [
            "api/v1/workflows", $"api/v1/workflows/{workflow.WorkflowId}", "api/v1/workflows/wf_0000000000000000",
            $"api/v1/workflows/{workflow.WorkflowId}/events", $"api/v1/workflows/{workflow.WorkflowId}/approvals",
            "api/v1/workflows?page_size=0", "api/v1/system/status", "api/v1/agents", "api/v1/agents/plugins", "api/v1/agents/plugins/critic",
            "health", "health/live", "health/ready", "openapi/v1.json", "docs", "", "index.html", "js/app.js",
        ];
        foreach (var path in paths)
        {
            using var get = await client.GetAsync(path).DefaultTimeout();
            using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path)).DefaultTimeout();

            Assert.True(get.StatusCode == head.StatusCode, $"HEAD /{path}: {(int)head.StatusCode}, GET: {(int)get.StatusCode}");
            Assert.Equal(Headers(get), Headers(head));
            Assert.Empty(await head.Content.ReadAsByteArrayAsync().DefaultTimeout());
        }

        using var anonymous = new HttpClient { BaseAddress = app.BaseAddress };
        using var refused = await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Head, "api/v1/workflows")).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    // HEAD is GET without its body: the document lists each operation once.
    [Fact]
    public async Task TheApiDocumentListsNoHeadOperations()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();

        var document = JsonNode.Parse(await client.GetStringAsync("openapi/v1.json").DefaultTimeout())!;

        Assert.NotNull(document["paths"]!["/api/v1/workflows"]!["get"]);
        Assert.DoesNotContain(document["paths"]!.AsObject(), path => path.Value!.AsObject().ContainsKey("head"));
    }

    private static List<string> Headers(HttpResponseMessage response) =>
        response.Headers.Concat(response.Content.Headers).Where(h => !Varying.Contains(h.Key))
            .Select(h => $"{h.Key}: {string.Join(", ", h.Value)}").Order(StringComparer.Ordinal).ToList();
}
