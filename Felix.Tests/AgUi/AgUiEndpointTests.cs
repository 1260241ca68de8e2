using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Tests.Agents;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.AgUi;

/// <summary>
/// <c>POST /api/v1/agui</c> over real sockets: a client that drops and comes back with <c>Last-Event-ID</c> gets exactly
/// what it missed, the workflow runs on without it (unless its run asked otherwise), and a thread's runs find their
/// workflows.
/// </summary>
public sealed class AgUiEndpointTests
{
    private const string Task = "Explain quantum computing";

    [Fact]
    public async Task AClientThatDropsMidRunResumesAfterItsLastEventWithoutGapOrDuplicate()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.004" }, kestrel: true);
        using var client = app.CreateApiClient();

        var first = new List<(string? Id, JsonObject Event)>();
        using (var response = await client.PostRunAsync("thread-drop", "run-1", Task, new { max_steps = 3 }))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            await foreach (var frame in response.ReadEventsAsync())
            {
                first.Add(frame);
                if (first.Count(f => AgUiProtocolRules.Type(f.Event) == "TEXT_MESSAGE_CONTENT") == 30)
                {
                    break; // the client goes away in the middle of an agent's text
                }
            }
        }

        var workflowId = first.WorkflowOf();
        Assert.NotEqual(WorkflowStatuses.Completed, (await client.GetWorkflowAsync(workflowId)).Status);
        var second = await (await client.PostRunAsync("thread-drop", "run-2", Task, lastEventId: first.Last(f => f.Id is not null).Id)).ReadAllEventsAsync();
        await client.WaitForTerminalAsync(workflowId);
        var reference = await (await client.PostRunAsync("thread-drop", "run-3", Task)).ReadAllEventsAsync();

        Assert.Equal(WorkflowStatuses.Completed, (await client.GetWorkflowAsync(workflowId)).Status);
        Assert.Equal(workflowId, second.WorkflowOf());
        Assert.Equal(["RUN_STARTED", "STATE_SNAPSHOT", "SUBAGENT_STARTED"], second.Take(3).Select(f => AgUiProtocolRules.Type(f.Event)));
        AgUiProtocolRules.AssertValidRun(second.Select(f => f.Event).ToList());
        AgUiProtocolRules.AssertValidRun(reference.Select(f => f.Event).ToList());
        Assert.Equal(reference.Positioned(), first.Positioned().Concat(second.Positioned()));
        var seen = first.Concat(second).Select(f => f.Event).ToList();
        Assert.Equal(AgUiProtocolRules.Texts(reference.Select(f => f.Event)), AgUiProtocolRules.Texts(seen));
    }

    [Fact]
    public async Task AClientThatAskedForItHasItsWorkflowCancelledWhenItGoesAway()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.020" }, kestrel: true);
        using var client = app.CreateApiClient();

        string workflowId;
        using (var response = await client.PostRunAsync("thread-cancel", "run-1", Task, new { max_steps = 3, cancel_on_disconnect = true }))
        {
            await using var frames = response.ReadEventsAsync().GetAsyncEnumerator();
            Assert.True(await frames.MoveNextAsync());
            workflowId = frames.Current.Event["metadata"]!["felix"]!["workflowId"]!.GetValue<string>();
        }

        await client.WaitForStatusAsync(workflowId, WorkflowStatuses.Cancelled);
    }

    [Fact]
    public async Task TheStatusCountsAnOpenRunStreamUntilItsClientGoesAway()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.020" }, kestrel: true);
        using var client = app.CreateApiClient();
        async Task<int> OpenRunsAsync() =>
            (await client.GetFromJsonAsync<JsonObject>("api/v1/system/status").DefaultTimeout())!["connections"]!["agui"]?.GetValue<int>() ?? -1;

        string workflowId;
        using (var response = await client.PostRunAsync("thread-count", "run-1", Task, new { max_steps = 3 }))
        {
            await using var frames = response.ReadEventsAsync().GetAsyncEnumerator();
            Assert.True(await frames.MoveNextAsync());
            workflowId = frames.Current.Event["metadata"]!["felix"]!["workflowId"]!.GetValue<string>();
            Assert.Equal(1, await OpenRunsAsync());
        }

        // The client went away mid-run: its stream is released, and the workflow runs on.
        await Poll.UntilAsync(async () => await OpenRunsAsync() == 0, "the dropped run's stream to be released");
        Assert.Equal(WorkflowStatuses.Completed, (await client.WaitForTerminalAsync(workflowId)).Status);
    }

    [Fact]
    public async Task ANewUserMessageOnAThreadStartsTheNextWorkflowAndRepeatingOneWatchesItsWorkflowAgain()
    {
        await using var app = new FelixApplication(kestrel: true);
        using var client = app.CreateApiClient();

        var first = await (await client.PostRunAsync("thread-turns", "run-1", Task, new { max_steps = 1 })).ReadAllEventsAsync();
        var again = await (await client.PostRunAsync("thread-turns", "run-2", Task)).ReadAllEventsAsync();
        var next = await (await client.PostRunAsync("thread-turns", "run-3", "And its limits?", new { max_steps = 1 },
            messageId: "message-2", earlierMessages:
            [
                new { id = "message-1", role = "user", content = Task },
                new { id = "answer-1", role = "assistant", content = new string('x', 200_000) }, // the conversation: over the API's 128 KiB
            ])).ReadAllEventsAsync();

        var firstId = first.WorkflowOf();
        Assert.Equal(firstId, again.WorkflowOf());
        Assert.Equal(first.Positioned(), again.Positioned());
        var nextWorkflow = await client.GetWorkflowAsync(next.WorkflowOf());
        Assert.NotEqual(firstId, nextWorkflow.WorkflowId);
        Assert.Equal(("And its limits?", firstId), (nextWorkflow.Task, nextWorkflow.ParentWorkflowId));
        Assert.Equal(2, (await client.GetFromJsonAsync<JsonObject>("api/v1/workflows").DefaultTimeout())!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task ARunWaitingOnTheModelSendsKeepaliveComments()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.HoldWhen = _ => true;
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["Felix:Llm:Provider"] = "OpenAI",
            ["Felix:Llm:Endpoint"] = fake.Endpoint.ToString(),
            ["Felix:Streaming:PingInterval"] = "00:00:00.100",
        }, kestrel: true);
        using var client = app.CreateApiClient();

        using var response = await client.PostRunAsync("thread-idle", "run-1", Task);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var workflowId = JsonNode.Parse((await reader.ReadLineAsync().DefaultTimeout())!["data: ".Length..])!["metadata"]!["felix"]!["workflowId"]!.GetValue<string>();
        await fake.Held.WaitAsync(TestTimeouts.Default);
        var keepalives = 0;
        while (keepalives < 3 && await reader.ReadLineAsync().DefaultTimeout() is { } line)
        {
            keepalives += line == ": keepalive" ? 1 : 0;
        }

        Assert.Equal(3, keepalives);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"api/v1/workflows/{workflowId}").DefaultTimeout()).StatusCode);
    }

    // A client back after a drop runs the same message again to watch its workflow: that creates nothing, so it must not
    // spend (or be refused by) the creation limit, which REST and AG-UI share. Before, every run spent one: the reattach
    // below got 429.
    [Fact]
    public async Task WatchingAWorkflowAgainSpendsNoCreationAndCreatingSharesTheLimitWithRest()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Limits:WorkflowsPerMinute"] = "1" }, kestrel: true);
        using var client = app.CreateApiClient();

        var created = await (await client.PostRunAsync("thread-limit", "run-1", Task, new { max_steps = 1 })).ReadAllEventsAsync();
        var watched = await (await client.PostRunAsync("thread-limit", "run-2", Task, new { max_steps = 1 })).ReadAllEventsAsync();
        using var newThread = await client.PostRunAsync("thread-other", "run-1", Task, new { max_steps = 1 });
        using var rest = await client.PostAsJsonAsync("api/v1/workflows", new { task = Task }).DefaultTimeout();

        Assert.Equal(created.WorkflowOf(), watched.WorkflowOf());
        Assert.Equal("thread-limit", (await client.GetWorkflowAsync(created.WorkflowOf())).ThreadId);
        Assert.Equal(HttpStatusCode.TooManyRequests, newThread.StatusCode);
        Assert.True(newThread.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal("Too many requests", JsonNode.Parse(await newThread.Content.ReadAsStringAsync())!["title"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.TooManyRequests, rest.StatusCode);
    }
}
