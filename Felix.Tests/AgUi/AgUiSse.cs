using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.AgUi;

/// <summary>AG-UI runs over plain HTTP: the request body, and the server-sent events with their <c>id:</c> lines.</summary>
internal static class AgUiSse
{
    public static async Task<HttpResponseMessage> PostRunAsync(
        this HttpClient client, string threadId, string runId, string task, object? forwardedProps = null, string? lastEventId = null,
        string messageId = "message-1", IEnumerable<object>? earlierMessages = null, object[]? resume = null)
    {
        var messages = (earlierMessages ?? []).Append(new { id = messageId, role = "user", content = task }).ToArray();
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/agui")
        {
            Content = resume is null
                ? JsonContent.Create(new { threadId, runId, messages, forwardedProps = forwardedProps ?? new { } })
                : JsonContent.Create(new { threadId, runId, messages, forwardedProps = forwardedProps ?? new { }, resume }),
        };
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
    }

    /// <summary>Each event with its <c>id:</c> (null for run framing), until the server ends the stream.</summary>
    public static async IAsyncEnumerable<(string? Id, JsonObject Event)> ReadEventsAsync(
        this HttpResponseMessage response, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        string? id = null;
        JsonObject? data = null;
        while (await reader.ReadLineAsync(cancellationToken).AsTask().DefaultTimeout(TimeSpan.FromSeconds(30)) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                Assert.Null(data); // one JSON event per data: line
                data = JsonNode.Parse(line["data: ".Length..])!.AsObject();
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line["id: ".Length..];
            }
            else if (line.Length == 0 && data is not null)
            {
                yield return (id, data);
                (id, data) = (null, null);
            }
        }
    }

    /// <summary>Every event of the run, once the server has ended it.</summary>
    public static async Task<List<(string? Id, JsonObject Event)>> ReadAllEventsAsync(this HttpResponseMessage response)
    {
        using (response)
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            var frames = new List<(string? Id, JsonObject Event)>();
            await foreach (var frame in response.ReadEventsAsync())
            {
                frames.Add(frame);
            }

            return frames;
        }
    }

    /// <summary>The events that came from the workflow's stream, with their ids; the run id is the one thing runs differ in.</summary>
    public static List<string> Positioned(this IEnumerable<(string? Id, JsonObject Event)> frames) =>
        frames.Where(f => f.Id is not null).Select(f =>
        {
            var evt = f.Event.DeepClone().AsObject();
            evt.Remove("runId");
            return $"{f.Id} {evt.ToJsonString()}";
        }).ToList();

    public static string WorkflowOf(this IReadOnlyList<(string? Id, JsonObject Event)> run) =>
        run[0].Event["metadata"]!["felix"]!["workflowId"]!.GetValue<string>();
}
