using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Felix.Tests.Security;

/// <summary>Hostile and broken input on every transport: clear refusals, no 500, nothing lost for anyone else.</summary>
public sealed class BadInputTests
{
    private static readonly string[] Oddities =
    [
        "", " ", "null", "{}", "[]", "\"task\"", "{\"task\":null}", "{\"task\":[]}", "{\"task\":{}}", "{\"task\":1e309}",
        "{\"task\":\"ok\",\"max_steps\":\"five\"}", "{\"task\":\"ok\",\"max_steps\":1.5}", "{\"task\":\"ok\",\"max_steps\":99999999999}",
        "{\"task\":\"\\u0000\\u0001\"}", "{\"task\":\"ok\",\"enable_web_search\":\"yes\"}", "{\"task\":\"\ud83d\ude80 \u05e9\u05dc\u05d5\u05dd \u202e\"}",
        "{\"task\":\"ok\"", "{{{{", "\u0000\u0000", "{\"task\":\"ok\",\"task\":\"twice\"}", new string('[', 5000) + new string(']', 5000),
    ];

    /// <summary>
    /// A JSON content type naming a charset the server has no encoding for is the client's error: before, the
    /// framework's JSON binding threw, and every route that reads a JSON body answered 500 and logged an Error.
    /// </summary>
    [Theory]
    [InlineData("bogus")]
    [InlineData("\"no-such-encoding\"")]
    public async Task AJsonBodyWithAnUnknownCharsetIsRefusedWith415NotA500(string charset)
    {
        var logs = new LogCapture();
        await using var app = new FelixApplication().WithServices(services => services.AddSingleton<ILoggerProvider>(logs));
        using var client = app.CreateApiClient();
        var id = (await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 1)).WorkflowId;

        foreach (var (url, body) in new[]
        {
            ("api/v1/workflows", "{\"task\":\"Explain quantum computing\",\"max_steps\":1}"),
            ($"api/v1/workflows/{id}/approvals/apr_synthesis_1", "{\"decision\":\"approve\"}"),
        })
        {
            using var content = new StringContent(body, Encoding.UTF8);
            content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse($"application/json; charset={charset}");
            using var response = await client.PostAsync(url, content).DefaultTimeout();

            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync().DefaultTimeout())!;
            Assert.Equal("Unsupported Media Type", problem["title"]!.GetValue<string>());
            Assert.Contains("UTF-8", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task RandomAndMalformedRestBodiesNeverCauseA500()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Limits:WorkflowsPerMinute"] = "10000" });
        using var client = app.CreateApiClient();
        var random = new Random(20261126);
        var bodies = Oddities.Concat(Enumerable.Range(0, 150).Select(_ => RandomBody(random))).ToList();

        var statuses = new List<HttpStatusCode>();
        foreach (var body in bodies)
        {
            var response = await client.PostAsync("api/v1/workflows", new StringContent(body, Encoding.UTF8, "application/json")).DefaultTimeout();
            statuses.Add(response.StatusCode);
            var text = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        }

        Assert.All(statuses, s => Assert.Contains(s, new[] { HttpStatusCode.Accepted, HttpStatusCode.BadRequest, HttpStatusCode.UnprocessableEntity }));
        Assert.Contains(HttpStatusCode.Accepted, statuses); // the unicode task is a fine task
        await AssertNormalRunAsync(app);
    }

    [Theory]
    [InlineData("wf_%F0%9F%9A%80")]
    [InlineData("%2500")]
    [InlineData("..%2F..%2Fetc%2Fpasswd")]
    [InlineData("wf_' OR 1=1 --")]
    public async Task OddWorkflowIdsAre404(string id)
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();

        var get = await client.GetAsync($"api/v1/workflows/{id}").DefaultTimeout();
        var events = await client.GetAsync($"api/v1/workflows/{id}/events").DefaultTimeout();

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, events.StatusCode);
    }

    [Fact]
    public async Task BrokenRawFramesCloseOnlyTheirOwnConnectionWithAReason()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.002" });
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Survive the noise", maxSteps: 3);
        using var healthy = await app.ConnectRawAsync($"api/v1/ws/workflows/{created.WorkflowId}?types=all");
        var healthyRead = healthy.ReadToCloseAsync(TimeSpan.FromSeconds(30));
        var path = $"api/v1/ws/workflows/{created.WorkflowId}";

        var binary = await SendAndReadCloseAsync(app, path, s => s.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, CancellationToken.None));
        var huge = await SendAndReadCloseAsync(app, path, s => s.SendAsync(Encoding.UTF8.GetBytes(new string('x', 100_000)), WebSocketMessageType.Text, true, CancellationToken.None));
        var invalidUtf8 = await SendAndReadCloseAsync(app, path, s => s.SendAsync(new byte[] { 0xC3, 0x28, 0xFF }, WebSocketMessageType.Text, true, CancellationToken.None));

        Assert.Equal((WebSocketCloseStatus.InvalidMessageType, "Binary frames are not supported"), binary);
        Assert.Equal((WebSocketCloseStatus.MessageTooBig, "Message too big"), huge);
        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, invalidUtf8.Status);

        using var chatty = await app.ConnectRawAsync(path);
        foreach (var text in Oddities.Append("ping").Append("\ud83d\ude80").Append("{\"type\":\"ping\"}"))
        {
            await chatty.SendTextAsync(text.Length == 0 ? " " : text[..Math.Min(text.Length, 2000)]);
        }

        var chattyFrames = new List<string>();
        while (await chatty.ReceiveTextAsync() is { } frame)
        {
            chattyFrames.Add(frame);
        }

        Assert.Contains("pong", chattyFrames);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, chatty.CloseStatus);
        AssertWholeRun(await healthyRead);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task BadHubInvocationsGetHubExceptionsAndTheConnectionStaysUsable(string protocol)
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Still works", maxSteps: 1);
        await using var hub = app.CreateHubConnection(protocol);
        await hub.StartAsync().DefaultTimeout();

        var unknownMethod = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<object>("DropAllTables").DefaultTimeout());
        var nullId = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), null, null).DefaultTimeout());
        var negative = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), created.WorkflowId, -5L).DefaultTimeout());
        var badType = await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in hub.StreamAsync<object>(nameof(IWorkflowHub.StreamEvents), created.WorkflowId, null, new[] { "not_a_type" }))
            {
            }
        }).DefaultTimeout();
        var subscription = await hub.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), created.WorkflowId, null).DefaultTimeout();

        Assert.Contains("DropAllTables", unknownMethod.Message, StringComparison.Ordinal);
        Assert.Contains("workflowId", nullId.Message, StringComparison.Ordinal);
        Assert.Contains("afterSequence", negative.Message, StringComparison.Ordinal);
        Assert.Contains("not_a_type", badType.Message, StringComparison.Ordinal);
        Assert.Equal(created.WorkflowId, subscription.Workflow.WorkflowId);
        Assert.Equal(HubConnectionState.Connected, hub.State);
    }

    [Fact]
    public async Task ThousandsOfConnectDisconnectCyclesLeaveNothingBehind()
    {
        // Real sockets on Kestrel, so an aborted client is a reset TCP connection the server must notice and clean up.
        await using var app = new FelixApplication(
            new Dictionary<string, string?>
            {
                ["Felix:Limits:ConnectionAttemptsPerMinute"] = "100000",
                ["Felix:Limits:MaxConnectionsPerPrincipal"] = "100000",
            },
            kestrel: true);
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Churn", maxSteps: 1);
        await client.WaitForTerminalAsync(created.WorkflowId);

        for (var i = 0; i < 2000; i++)
        {
            using var socket = await app.ConnectRawAsync($"api/v1/ws/workflows/{created.WorkflowId}");
            if (i % 2 == 0)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None).DefaultTimeout();
            }
            else
            {
                socket.Abort();
            }
        }

        for (var i = 0; i < 100; i++)
        {
            await using var hub = app.CreateHubConnection(i % 2 == 0 ? "json" : "messagepack");
            await hub.StartAsync().DefaultTimeout();
        }

        await AssertNormalRunAsync(app);
        var deadline = DateTime.UtcNow + TestTimeouts.Default;
        JsonNode status;
        do
        {
            status = JsonNode.Parse(await client.GetStringAsync("api/v1/system/status").DefaultTimeout())!;
            if (status["connections"]!["websocket"]!.GetValue<int>() == 0 && status["connections"]!["signalr"]!.GetValue<int>() == 0)
            {
                break;
            }

            await Task.Delay(20);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Equal(0, status["connections"]!["websocket"]!.GetValue<int>());
        Assert.Equal(0, status["connections"]!["signalr"]!.GetValue<int>());
    }

    private static async Task<(WebSocketCloseStatus? Status, string? Reason)> SendAndReadCloseAsync(FelixApplication app, string path, Func<WebSocket, Task> send)
    {
        using var socket = await app.ConnectRawAsync(path);
        await send(socket).DefaultTimeout();
        while (await socket.ReceiveTextAsync() is not null)
        {
        }

        return (socket.CloseStatus, socket.CloseStatusDescription);
    }

    private static async Task AssertNormalRunAsync(FelixApplication app)
    {
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("A normal run afterwards", maxSteps: 2);
        using var socket = await app.ConnectRawAsync($"api/v1/ws/workflows/{created.WorkflowId}?types=all");
        AssertWholeRun(await socket.ReadToCloseAsync());
    }

    private static void AssertWholeRun(List<JsonObject> frames)
    {
        var sequences = frames.Where(f => f.ContainsKey("sequence")).Select(f => f["sequence"]!.GetValue<long>()).ToList();
        Assert.Equal(Enumerable.Range(1, sequences.Count).Select(i => (long)i), sequences);
        Assert.Equal("workflow_complete", frames[^1].Type());
    }

    private static string RandomBody(Random random)
    {
        return random.Next(4) switch
        {
            0 => Encoding.UTF8.GetString(Enumerable.Range(0, random.Next(1, 200)).Select(_ => (byte)random.Next(256)).ToArray()),
            1 => RandomJson(random, 0)?.ToJsonString() ?? "null",
            2 => new JsonObject { ["task"] = RandomJson(random, 0), ["max_steps"] = RandomJson(random, 2) }.ToJsonString(),
            _ => new JsonObject { ["task"] = RandomText(random), ["max_steps"] = random.Next(-5, 60) }.ToJsonString(),
        };
    }

    private static JsonNode? RandomJson(Random random, int depth) => (depth > 3 ? random.Next(4) : random.Next(6)) switch
    {
        0 => null,
        1 => JsonValue.Create(random.Next(int.MinValue, int.MaxValue)),
        2 => JsonValue.Create(RandomText(random)),
        3 => JsonValue.Create(random.NextDouble() > 0.5),
        4 => new JsonArray(Enumerable.Range(0, random.Next(4)).Select(_ => RandomJson(random, depth + 1)).ToArray()),
        _ => new JsonObject(Enumerable.Range(0, random.Next(4)).Select(i => KeyValuePair.Create($"k{i}", RandomJson(random, depth + 1)))),
    };

    private static string RandomText(Random random)
    {
        const string alphabet = "abc xyz ÄÖü 日本語 🚀 \u202e\t\n\"\\";
        return new string(Enumerable.Range(0, random.Next(0, 60)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
    }
}
