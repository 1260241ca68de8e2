using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using Felix.Contracts.Dtos;
using Felix.Tests.Infrastructure;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>
/// The flow of the raw-protocol page (<c>clients/web/compat.html</c>, in the original's style), opened from disk: <c>Origin: null</c>, REST
/// with an <c>Authorization</c> header (so a CORS preflight), then the raw socket with <c>?api_key=</c>.
/// </summary>
public sealed class CompatBrowserFlowTests
{
    private const string PageOrigin = "null";

    [Fact]
    public async Task PageOpenedFromDiskRunsAWorkflowWhenAllOriginsAreAllowed()
    {
        await using var app = CreateServer(("FELIX_CORS_ORIGINS", "*"));
        using var http = new HttpClient { BaseAddress = app.BaseAddress };

        using var preflight = await http.SendAsync(Preflight("api/v1/workflows")).DefaultTimeout();
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal("*", Header(preflight, "Access-Control-Allow-Origin"));
        Assert.Contains("authorization", Header(preflight, "Access-Control-Allow-Headers"), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("POST", Header(preflight, "Access-Control-Allow-Methods"), StringComparison.Ordinal);

        using var start = await http.SendAsync(Request(HttpMethod.Post, "api/v1/system/start")).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, start.StatusCode);
        Assert.Equal("*", Header(start, "Access-Control-Allow-Origin"));

        var create = Request(HttpMethod.Post, "api/v1/workflows");
        create.Content = JsonContent.Create(new { task = "Explain quantum computing", max_steps = 3 });
        using var created = await http.SendAsync(create).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        Assert.Equal("*", Header(created, "Access-Control-Allow-Origin"));
        var workflow = (await created.Content.ReadFromJsonAsync<WorkflowResponse>(WorkflowApiExtensions.Json).DefaultTimeout())!;

        using var socket = await app.ConnectRawAsync(WorkflowPath(workflow.WorkflowId), o => o.SetRequestHeader("Origin", PageOrigin));
        var frames = await socket.ReadToCloseAsync();
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        Assert.Equal("workflow_complete", frames[^1].Type());
        Assert.False(string.IsNullOrWhiteSpace(frames[^1]["synthesis"]!["content"]!.GetValue<string>()));
    }

    [Fact]
    public async Task PageOpenedFromDiskIsRefusedByTheDefaultOrigins()
    {
        await using var app = CreateServer();
        using var http = new HttpClient { BaseAddress = app.BaseAddress };

        using var preflight = await http.SendAsync(Preflight("api/v1/workflows")).DefaultTimeout();

        Assert.False(preflight.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task ListedOriginIsAllowedAndOthersAreNot()
    {
        await using var app = CreateServer(("FELIX_CORS_ORIGINS", "http://localhost:3000, https://felix.example"));
        using var http = new HttpClient { BaseAddress = app.BaseAddress };

        using var allowed = await http.SendAsync(Preflight("api/v1/workflows", "https://felix.example")).DefaultTimeout();
        using var refused = await http.SendAsync(Preflight("api/v1/workflows", PageOrigin)).DefaultTimeout();

        Assert.Equal("https://felix.example", Header(allowed, "Access-Control-Allow-Origin"));
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }

    private static HttpRequestMessage Preflight(string path, string origin = PageOrigin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        return request;
    }

    private static HttpRequestMessage Request(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add("Origin", PageOrigin);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Key);
        return request;
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : "";
}
