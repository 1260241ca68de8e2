using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Storage;

/// <summary>
/// SIGTERM drains instead of dropping: the node keeps listening while it drains, answering readiness and new work with
/// 503; raw clients get 1001 after the events they were sent, hub clients SignalR's close; the interrupted workflow
/// completes after a restart, and a hub client resumes it by sequence.
/// </summary>
public sealed class SigtermDrainTests : DataDirectoryTest
{
    [Fact]
    public async Task SigtermMidRunDrainsWith503And1001AndTheWorkflowCompletesAfterARestart()
    {
        var settings = StorageTestSettings.SqliteFile(Files.Directory,
            ("Felix:Llm:OfflineTokenDelay", "00:00:00.050"), ("Felix:Workflows:ShutdownGracePeriod", "00:00:03"))
            .ToDictionary(p => p.Key, p => p.Value!);
        var seen = new List<JsonObject>();
        var hubSaw = new List<WorkflowEvent>();
        string workflowId;
        await using (var server = await ServerProcess.StartAsync(Files.Directory, settings))
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            workflowId = (await http.CreateWorkflowAsync("Drain me", maxSteps: 5)).WorkflowId;
            await using var hub = HubTo(server.BaseAddress);
            var live = new HubEventRecorder(hub);
            var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
            hub.Closed += error =>
            {
                closed.TrySetResult(error);
                return Task.CompletedTask;
            };
            await hub.StartAsync().DefaultTimeout();
            var subscription = await hub.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), workflowId, null).DefaultTimeout();
            using var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri(server.BaseAddress.ToString().Replace("http", "ws", StringComparison.Ordinal) + $"api/v1/ws/workflows/{workflowId}?types=all"), CancellationToken.None).DefaultTimeout();
            while (seen.Count < 5 && await socket.ReceiveJsonAsync() is { } frame)
            {
                seen.Add(frame);
            }

            await server.TerminateAsync();

            // Still listening while it drains (the signal is handled a moment after kill returns): not ready, no new work.
            await Poll.UntilAsync(async () => (await http.GetAsync("health/ready").DefaultTimeout()).StatusCode == HttpStatusCode.ServiceUnavailable,
                "readiness to answer 503 once the shutdown began", TimeSpan.FromSeconds(10));
            var create = await http.PostAsJsonAsync("api/v1/workflows", new { task = "Too late", max_steps = 1 }).DefaultTimeout();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, create.StatusCode);
            Assert.Equal("Server shutting down", (await create.Content.ReadFromJsonAsync<JsonObject>().DefaultTimeout())!["title"]!.GetValue<string>());
            Assert.Equal(TimeSpan.FromSeconds(5), create.Headers.RetryAfter?.Delta);
            // A new stream is refused before the connection limits: a crowd reconnecting to the draining node spends none
            // of its attempts there (docs/performance.md, reconnect storm).
            using var late = new ClientWebSocket();
            late.Options.CollectHttpResponseDetails = true;
            await Assert.ThrowsAsync<WebSocketException>(() => late.ConnectAsync(
                new Uri(server.BaseAddress.ToString().Replace("http", "ws", StringComparison.Ordinal) + $"api/v1/ws/workflows/{workflowId}"), CancellationToken.None).DefaultTimeout());
            Assert.Equal(HttpStatusCode.ServiceUnavailable, late.HttpStatusCode);
            Assert.InRange(int.Parse(late.HttpResponseHeaders!["Retry-After"].Single(), System.Globalization.CultureInfo.InvariantCulture), 5, 10);

            while (await socket.ReceiveJsonAsync(TimeSpan.FromSeconds(30)) is { } frame)
            {
                seen.Add(frame);
            }

            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, socket.CloseStatus);
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).DefaultTimeout();
            // SignalR's own close: the hub client is told the server closed, not that the connection broke.
            Assert.Null(await closed.Task.DefaultTimeout(TimeSpan.FromSeconds(60)));
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            hubSaw.AddRange(MergeBySequence(subscription.Events, live.Events));
        }

        await using var app = new FelixApplication(settings!);
        // The hub client comes back and resumes after the last sequence it had.
        await using var resumedHub = app.CreateHubConnection("json");
        var resumedLive = new HubEventRecorder(resumedHub);
        await resumedHub.StartAsync().DefaultTimeout();
        Assert.NotEmpty(hubSaw);
        var resumed = await resumedHub.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), workflowId, hubSaw[^1].Sequence).DefaultTimeout();
        Assert.False(resumed.ReplayedFromStart);
        if (!resumed.Events.Any(e => e.IsTerminal))
        {
            await resumedLive.Terminal.DefaultTimeout(TimeSpan.FromSeconds(60));
        }

        var client = app.CreateApiClient();
        var workflow = await client.WaitForTerminalAsync(workflowId, TimeSpan.FromSeconds(60));
        Assert.Equal((WorkflowStatuses.Completed, 2), (workflow.Status, workflow.Attempts));
        var stored = await client.ReadEventsAsync(workflowId);
        DurableHistory.AssertOneRun(stored);
        // What the client was sent before the 1001 is the start of the one history.
        var sent = seen.Where(f => f["event_id"] is not null).Select(f => f["event_id"]!.GetValue<string>()).ToList();
        Assert.Equal(stored.Take(sent.Count).Select(e => e.EventId), sent);
        // Before the stop and after the restart, the hub client has the whole history: each event once, none missing.
        Assert.Equal(stored.Select(e => e.EventId), MergeBySequence(hubSaw, [.. resumed.Events, .. resumedLive.Events]).Select(e => e.EventId));
        Assert.Equal(stored.Take(hubSaw.Count).Select(e => e.EventId), hubSaw.Select(e => e.EventId));
    }

    private static HubConnection HubTo(Uri server) => new HubConnectionBuilder()
        .WithUrl(new Uri(server, HubPaths.Workflows.TrimStart('/')), o => o.Transports = HttpTransportType.WebSockets)
        .AddJsonProtocol(o => o.PayloadSerializerOptions.AddFelixConverters())
        .Build();

    /// <summary>What a client keeps of a subscription's history and its live events: each sequence once, in order.</summary>
    private static List<WorkflowEvent> MergeBySequence(IEnumerable<WorkflowEvent> history, IEnumerable<WorkflowEvent> live) =>
        history.Concat(live).DistinctBy(e => e.Sequence).OrderBy(e => e.Sequence).ToList();
}
