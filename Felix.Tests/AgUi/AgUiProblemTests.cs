using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.AgUi;

/// <summary>
/// Refusals of <c>POST /api/v1/agui</c> before its stream starts, to a client that accepts only
/// <c>text/event-stream</c> (as AG-UI clients do): still problem details with a <c>trace_id</c>, the same as the REST API
/// answers, because that client must read why it was refused.
/// </summary>
public sealed class AgUiProblemTests
{
    private const string Key = "agui-problem-admin-key";
    private const string ReaderKey = "agui-problem-reader-key";

    private const string Run = """
        {"threadId":"thread-problem","runId":"run-1","messages":[{"id":"message-1","role":"user","content":"Explain quantum computing"}]}
        """;

    public static TheoryData<string, string?, string, string, HttpStatusCode, string> Refusals() => new()
    {
        { "no key", null, "application/json", Run, HttpStatusCode.Unauthorized, "Unauthorized" },
        { "not JSON", Key, "application/json", "{", HttpStatusCode.BadRequest, "Malformed request" },
        { "wrong media type", Key, "text/plain", Run, HttpStatusCode.UnsupportedMediaType, "Unsupported Media Type" },
        { "resume without the approve scope", ReaderKey, "application/json",
            Run.Replace("}]}", """}],"resume":[{"interruptId":"wf_1.apr_1","status":"resolved","payload":{"decision":"approve"}}]}""", StringComparison.Ordinal),
            HttpStatusCode.Forbidden, "Forbidden" },
        { "no user message", Key, "application/json", """{"threadId":"thread-problem","runId":"run-1","messages":[]}""",
            HttpStatusCode.UnprocessableEntity, "One or more fields are invalid." },
        { "too large", Key, "application/json", Run.Replace("Explain", new string('x', 1024 * 1024), StringComparison.Ordinal),
            HttpStatusCode.RequestEntityTooLarge, "Request body too large" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task ARefusalToAClientThatAcceptsOnlyEventStreamsIsAProblemWithATraceId(
        string refusal, string? key, string mediaType, string body, HttpStatusCode status, string title)
    {
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["FELIX_API_KEY"] = Key,
            ["Felix:Security:ApiKeys:0:Key"] = ReaderKey,
            ["Felix:Security:ApiKeys:0:Name"] = "reader",
        }, kestrel: true);
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/agui") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await client.SendAsync(request).DefaultTimeout();

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal(title, problem["title"]!.GetValue<string>());
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(problem["trace_id"]?.GetValue<string>()), $"{refusal}: the problem has a trace_id");
        if (status == HttpStatusCode.UnsupportedMediaType)
        {
            Assert.Equal("Send the body as JSON, with Content-Type: application/json.", problem["detail"]!.GetValue<string>());
        }
    }
}
