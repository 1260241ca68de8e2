using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

/// <summary>
/// SIGTERM drains instead of dropping: the node keeps listening while it drains, answering readiness and new work with
/// 503; raw clients get 1001 after the events they were sent; the interrupted workflow completes after a restart.
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
        string workflowId;
        await using (var server = await ServerProcess.StartAsync(Files.Directory, settings))
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            workflowId = (await http.CreateWorkflowAsync("Drain me", maxSteps: 5)).WorkflowId;
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

            while (await socket.ReceiveJsonAsync(TimeSpan.FromSeconds(30)) is { } frame)
            {
                seen.Add(frame);
            }

            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, socket.CloseStatus);
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).DefaultTimeout();
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }

        await using var app = new FelixApplication(settings!);
        var client = app.CreateApiClient();
        var workflow = await client.WaitForTerminalAsync(workflowId, TimeSpan.FromSeconds(60));
        Assert.Equal((WorkflowStatuses.Completed, 2), (workflow.Status, workflow.Attempts));
        var stored = await client.ReadEventsAsync(workflowId);
        DurableHistory.AssertOneRun(stored);
        // What the client was sent before the 1001 is the start of the one history.
        var sent = seen.Where(f => f["event_id"] is not null).Select(f => f["event_id"]!.GetValue<string>()).ToList();
        Assert.Equal(stored.Take(sent.Count).Select(e => e.EventId), sent);
    }
}
