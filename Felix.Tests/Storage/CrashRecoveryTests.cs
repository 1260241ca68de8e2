using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Storage;

/// <summary>
/// Accepted work gets done: a server killed twice (SIGKILL) mid-run and started again on the same data completes every
/// workflow, running or queued, with one history each; a raw client that resumes sees exactly that history.
/// </summary>
public sealed class CrashRecoveryTests : DataDirectoryTest
{
    private const int Workflows = 6;

    [Fact]
    public async Task KilledTwiceMidRunEveryWorkflowCompletesWithOneHistory()
    {
        // Two run at once, four wait in the queue: the kills catch both running and queued work.
        var settings = StorageTestSettings.SqliteFile(Files.Directory,
            ("Felix:Llm:OfflineTokenDelay", "00:00:00.010"), ("Felix:Workflows:MaxConcurrent", "2"))
            .ToDictionary(p => p.Key, p => p.Value!);
        var ids = new List<string>();
        var seen = new List<JsonObject>();

        await using (var server = await ServerProcess.StartAsync(Files.Directory, settings))
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            for (var i = 0; i < Workflows; i++)
            {
                ids.Add((await http.CreateWorkflowAsync($"Durable task {i}", maxSteps: 3)).WorkflowId);
            }

            // An event a client received was acknowledged: it was written before it was sent.
            await WatchAsync(server.BaseAddress, ids[0], seen, until: 12);
            await server.KillAsync();
        }

        await using (var server = await ServerProcess.StartAsync(Files.Directory, settings))
        {
            await WatchAsync(server.BaseAddress, ids[0], seen, until: seen.Count + 12);
            await server.KillAsync();
        }

        await using var app = new FelixApplication(settings!);
        var client = app.CreateApiClient();
        var attempts = new List<int>();
        foreach (var id in ids)
        {
            var workflow = await client.WaitForTerminalAsync(id, TimeSpan.FromSeconds(90));
            Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
            attempts.Add(workflow.Attempts);
            DurableHistory.AssertOneRun(await client.ReadEventsAsync(id));
        }

        Assert.Contains(attempts, a => a > 1);
        var stored = await client.ReadEventsAsync(ids[0]);
        foreach (var frame in seen)
        {
            Assert.Single(stored, e => e.EventId == frame["event_id"]!.GetValue<string>());
        }

        // The client resumes after the last event it saw, and gets exactly the rest, then the normal close.
        using var raw = await app.ConnectRawAsync($"api/v1/ws/workflows/{ids[0]}?types=all&last_event_id={seen[^1]["event_id"]}");
        var rest = (await raw.ReadToCloseAsync()).Where(f => f["sequence"] is not null).ToList();
        Assert.Equal(WebSocketCloseStatus.NormalClosure, raw.CloseStatus);
        Assert.Equal(stored.Select(e => e.EventId), seen.Concat(rest).Select(f => f["event_id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task WorkflowsLeftUnfinishedRunAtTheNextStartInTheOrderTheyWereCreated()
    {
        // One at a time, so the order they finish in is the order recovery queued them.
        var settings = StorageTestSettings.SqliteFile(Files.Directory, ("Felix:Workflows:MaxConcurrent", "1"));
        var created = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        // The state a stop leaves: accepted work in the store, none of it queued. Same creation time: the id decides.
        (string Id, DateTimeOffset CreatedAt, string Status)[] left =
        [
            ("wf_00000003", created.AddMinutes(1), WorkflowStatuses.Pending),
            ("wf_00000002", created.AddMinutes(1), WorkflowStatuses.Running),
            ("wf_00000001", created, WorkflowStatuses.Pending),
        ];
        await using (var first = new FelixApplication(settings))
        {
            var store = first.Services.GetRequiredService<Felix.Server.Workflows.IWorkflowStore>();
            foreach (var (id, createdAt, status) in left)
            {
                await store.CreateAsync(new Felix.Server.Workflows.WorkflowRecord
                {
                    Id = id, Task = "Accepted before the stop", MaxSteps = 1, Owner = "default", Status = status, CreatedAt = createdAt,
                });
            }
        }

        await using var second = new FelixApplication(settings);
        using var client = second.CreateApiClient();
        foreach (var (id, _, _) in left)
        {
            Assert.Equal(WorkflowStatuses.Completed, (await client.WaitForTerminalAsync(id)).Status);
        }

        // One at a time: each finished before the next started.
        var finished = new List<(DateTimeOffset CompletedAt, string Id)>();
        foreach (var (id, _, _) in left)
        {
            finished.Add(((await second.Services.GetRequiredService<Felix.Server.Workflows.IWorkflowStore>().GetAsync(id))!.CompletedAt!.Value, id));
        }

        Assert.Equal(["wf_00000001", "wf_00000002", "wf_00000003"], finished.OrderBy(f => f.CompletedAt).Select(f => f.Id));
    }

    /// <summary>Reads the workflow's stream (resuming after what was already seen) until <paramref name="until"/> events.</summary>
    private static async Task WatchAsync(Uri server, string workflowId, List<JsonObject> seen, int until)
    {
        var resume = seen.Count > 0 ? $"&last_event_id={seen[^1]["event_id"]}" : "";
        using var socket = new ClientWebSocket();
        var uri = new Uri(server.ToString().Replace("http", "ws", StringComparison.Ordinal) + $"api/v1/ws/workflows/{workflowId}?types=all{resume}");
        await socket.ConnectAsync(uri, CancellationToken.None).DefaultTimeout();
        while (seen.Count < until && await socket.ReceiveJsonAsync() is { } frame)
        {
            if (frame["sequence"] is not null)
            {
                seen.Add(frame);
            }
        }

        Assert.True(seen.Count >= until, "the workflow ended before the server could be killed mid-run");
    }
}
