using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Felix.Tests.Agents;

/// <summary>
/// A real HTTP server on 127.0.0.1 that answers <c>/v1/chat/completions</c> the way OpenAI-compatible servers stream:
/// server-sent chunks with content deltas, then a usage chunk, then <c>[DONE]</c>.
/// </summary>
internal sealed class FakeOpenAIServer : IAsyncDisposable
{
    public const int PromptTokens = 11;

    /// <summary>The one model the fake has: a request for another is answered 404, as OpenAI, vLLM and Ollama do.</summary>
    public const string ModelName = "fake-model";

    private readonly WebApplication _app;
    private int _requests;

    private FakeOpenAIServer(WebApplication app) => _app = app;

    /// <summary>Status to answer instead of a stream (e.g. 500), or null to stream.</summary>
    public int? FailWith { get; set; }

    /// <summary>Requests this picks are never answered: the call hangs until the caller gives up or dies.</summary>
    public Func<JsonObject, bool>? HoldWhen { get; set; }

    /// <summary>Released once per request held by <see cref="HoldWhen"/>.</summary>
    public SemaphoreSlim Held { get; } = new(0);

    /// <summary>How many requests <see cref="FailWith"/> fails; the ones after it stream.</summary>
    public int FailTimes { get; set; } = int.MaxValue;

    /// <summary>The error message of a <see cref="FailWith"/> answer.</summary>
    public string FailMessage { get; set; } = "fake failure";

    /// <summary>Sent as <c>Retry-After</c> with <see cref="FailWith"/>.</summary>
    public string? RetryAfter { get; set; }

    /// <summary>How a stream goes wrong after <see cref="FaultAfterWords"/> words; none by default.</summary>
    public StreamFault Fault { get; set; }

    public int FaultAfterWords { get; set; } = 3;

    /// <summary>Which requests (numbered from 1) <see cref="Fault"/> applies to; all of them when null.</summary>
    public Func<int, bool>? FaultWhen { get; set; }

    /// <summary>The synthesis's text instead of <see cref="SynthesisText"/>.</summary>
    public string? SynthesisAnswer { get; set; }

    /// <summary>Delay between two streamed words.</summary>
    public TimeSpan WordDelay { get; set; }

    /// <summary>What <c>GET /v1/models</c> answers: 200 with the fake's model, or this status (e.g. 401 for a wrong key).</summary>
    public int ModelsStatus { get; set; } = StatusCodes.Status200OK;

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Completed when a client went away in the middle of a stream.</summary>
    public TaskCompletionSource StreamAborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource FirstChunkSent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public List<JsonObject> Bodies { get; } = [];

    public Uri Endpoint => new(_app.Urls.First() + "/v1");

    public static async Task<FakeOpenAIServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeOpenAIServer(app);
        app.MapPost("/v1/chat/completions", server.HandleAsync);
        app.MapGet("/v1/models", () => server.ModelsStatus == StatusCodes.Status200OK
            ? Results.Text($$"""{"object":"list","data":[{"id":"{{ModelName}}","object":"model"}]}""", "application/json")
            : Results.StatusCode(server.ModelsStatus));
        await app.StartAsync();
        return server;
    }

    /// <summary>The text the fake writes for a prompt: different for agents and for the synthesis.</summary>
    public const string AgentText = "The fake model looked at the task and found three useful points to make.\nConfidence: 0.84";
    public const string SynthesisText = "Final answer from the fake model, combining every agent.\nConfidence: 0.91";

    /// <summary>Completion tokens the fake reports: one per streamed word.</summary>
    public static int TokensOf(string text) => text.Split(' ').Length;

    public static string TextFor(JsonObject body)
    {
        var system = body["messages"]!.AsArray().First()!["content"]!.ToString();
        return system.Contains("synthesis", StringComparison.OrdinalIgnoreCase) ? SynthesisText : AgentText;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = Interlocked.Increment(ref _requests);
        var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        lock (Bodies)
        {
            Bodies.Add(body);
        }

        if (HoldWhen?.Invoke(body) == true)
        {
            Held.Release();
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        if (FailWith is { } status && request <= FailTimes)
        {
            context.Response.StatusCode = status;
            if (RetryAfter is not null)
            {
                context.Response.Headers.RetryAfter = RetryAfter;
            }

            await context.Response.WriteAsJsonAsync(new { error = new { message = FailMessage, type = "server_error" } });
            return;
        }

        // After FailWith: a server refuses a wrong key before it looks at the model.
        if (body["model"]?.ToString() is { } model && model != ModelName)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            await context.Response.WriteAsJsonAsync(new { error = new { message = $"The model `{model}` does not exist.", type = "invalid_request_error", code = "model_not_found" } });
            return;
        }

        context.Response.ContentType = "text/event-stream";
        var text = TextFor(body);
        var words = (text == SynthesisText && SynthesisAnswer is { } answer ? answer : text).Split(' ');
        try
        {
            for (var i = 0; i < words.Length; i++)
            {
                if (Fault != StreamFault.None && i == FaultAfterWords && FaultWhen?.Invoke(request) != false)
                {
                    await FailStreamAsync(context);
                    return;
                }

                var delta = i == words.Length - 1 ? words[i] : words[i] + " ";
                await WriteChunkAsync(context, new { role = "assistant", content = delta }, null, null);
                FirstChunkSent.TrySetResult();
                if (WordDelay > TimeSpan.Zero)
                {
                    await Task.Delay(WordDelay, context.RequestAborted);
                }
            }

            await WriteChunkAsync(context, new { }, "stop", null);
            await WriteChunkAsync(context, null, null, new { prompt_tokens = PromptTokens, completion_tokens = words.Length, total_tokens = PromptTokens + words.Length });
            await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            StreamAborted.TrySetResult();
        }
    }

    private async Task FailStreamAsync(HttpContext context)
    {
        switch (Fault)
        {
            case StreamFault.Silence:
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => StreamAborted.TrySetResult(), TaskScheduler.Default);
                break;
            case StreamFault.Reset:
                // A reset discards what the client has not read yet: let it read the words first, so the stream
                // breaks in the middle rather than before the client saw the headers. A client held up by a loaded
                // machine reads late: a second leaves it room (nothing else reads the words to tell when it has).
                await Task.Delay(TimeSpan.FromSeconds(1));
                context.Abort();
                break;
            case StreamFault.MalformedChunk:
                await context.Response.WriteAsync("data: {\"id\": \"chatcmpl-fake\", \"choices\": [ {broken\n\n", context.RequestAborted);
                await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
                break;
        }
    }

    private static async Task WriteChunkAsync(HttpContext context, object? delta, string? finishReason, object? usage)
    {
        var chunk = new Dictionary<string, object?>
        {
            ["id"] = "chatcmpl-fake",
            ["object"] = "chat.completion.chunk",
            ["created"] = 1_700_000_000,
            ["model"] = "fake-model",
            ["choices"] = delta is null ? Array.Empty<object>() : new object[] { new { index = 0, delta, finish_reason = finishReason } },
        };
        if (usage is not null)
        {
            chunk["usage"] = usage;
        }

        await context.Response.WriteAsync("data: " + JsonSerializer.Serialize(chunk) + "\n\n", Encoding.UTF8, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>What <see cref="FakeOpenAIServer"/> does to a stream part-way through.</summary>
public enum StreamFault
{
    None,

    /// <summary>Sends nothing more and keeps the connection open.</summary>
    Silence,

    /// <summary>Drops the connection without ending the stream.</summary>
    Reset,

    /// <summary>Sends a chunk that is not JSON, then ends the stream.</summary>
    MalformedChunk,
}
