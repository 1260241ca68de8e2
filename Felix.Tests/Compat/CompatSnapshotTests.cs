using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>
/// The status snapshot a raw connection opens with is followed by the replayed history: it states the status where the
/// replay starts, so the statuses a client reads (snapshot, replayed, live) move only forward, as they happened.
/// </summary>
public sealed class CompatSnapshotTests
{
    [Fact]
    public async Task ConnectingToARunningWorkflowShowsItsStatusesInTheOrderTheyHappened()
    {
        var model = new HeldModel();
        await using var app = CreateServer().WithServices(model.Install);
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", 3);
        // Running: its first agent waits for the model, so pending and running are history when the client connects.
        await model.FirstCallWaiting.DefaultTimeout();
        Assert.Equal(WorkflowStatuses.Running, (await client.GetWorkflowAsync(workflow.WorkflowId)).Status);

        using var socket = await app.ConnectRawAsync(WorkflowPath(workflow.WorkflowId));
        var opening = new[] { (await socket.ReceiveJsonAsync())!, (await socket.ReceiveJsonAsync())! };
        model.Release();
        var frames = opening.Concat(await socket.ReadToCloseAsync()).ToList();

        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        Assert.Equal(["connected", "workflow_status"], frames.Take(2).Types());
        // The snapshot, then the creation's pending, the run's running and its completed.
        Assert.Equal(["pending", "pending", "running", "completed"], frames.OfType("workflow_status").Select(f => f.Str("status")));
        Assert.Null(frames[1]["event_id"]);
        // Every documented event of the history, once each, in order.
        var history = await client.ReadEventsAsync(workflow.WorkflowId);
        var documented = history.Where(e => DocumentedFrameTypes.Contains(e.Type)).Select(e => e.EventId);
        Assert.Equal(documented, frames.Events().Select(e => e.EventId()));
    }

    [Fact]
    public async Task LateJoinAfterCompletionOpensWithTheStatusBeforeTheReplay()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app);

        var frames = await ReadStreamAsync(app, WorkflowPath(workflowId));

        Assert.Equal(["pending", "pending", "running", "completed"], frames.OfType("workflow_status").Select(f => f.Str("status")));
        Assert.Equal("workflow_complete", frames[^1].Type());
    }

    [Fact]
    public async Task ResumeOpensWithTheStatusAtThePositionResumedFrom()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app);
        var all = (await ReadStreamAsync(app, WorkflowPath(workflowId, "types=all"))).Events();
        var running = all.FindIndex(e => e.Type() == "workflow_status" && e.Str("status") == "running");
        var completed = all.FindIndex(e => e.Type() == "workflow_status" && e.Str("status") == "completed");

        // After the creation, after the running status, in the middle of the run, after the completed status, after the end.
        foreach (var (cut, expected) in new[] { (0, "pending"), (running, "running"), ((running + completed) / 2, "running"), (completed, "completed"), (all.Count - 1, "completed") })
        {
            var frames = await ReadStreamAsync(app, WorkflowPath(workflowId, $"types=all&last_event_id={all[cut].EventId()}"));

            var statuses = frames.OfType("workflow_status").Select(f => f.Str("status")).ToList();
            Assert.True(statuses[0] == expected, $"resumed after {all[cut].EventId()} ({all[cut].Type()}): the snapshot says {statuses[0]}, not {expected}");
            Assert.Equal(all.Skip(cut + 1).OfType("workflow_status").Select(f => f.Str("status")), statuses.Skip(1));
            Assert.Equal(all.Skip(cut + 1).Select(e => e.EventId()), frames.Events().Select(e => e.EventId()));
        }
    }

    [Fact]
    public async Task StatusCommandAfterTheReplayAnswersTheStatusTheStreamReached()
    {
        var model = new HeldModel();
        await using var app = CreateServer(("Felix:Workflows:ShutdownGracePeriod", "00:00:00")).WithServices(model.Install);
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", 3);
        await model.FirstCallWaiting.DefaultTimeout();
        using var socket = await app.ConnectRawAsync(WorkflowPath(workflow.WorkflowId, "types=all"));
        Assert.Equal("connected", (await socket.ReceiveJsonAsync())!.Type());
        var snapshot = (await socket.ReceiveJsonAsync())!;
        var last = snapshot["last_sequence"]!.GetValue<long>();
        JsonObject frame;
        do
        {
            frame = (await socket.ReceiveJsonAsync())!;
        }
        while (frame.Sequence() < last);

        await socket.SendTextAsync("status");
        var reply = (await socket.ReceiveJsonAsync())!;

        Assert.Equal(("workflow_status", "running", last), (reply.Type(), reply.Str("status"), reply["last_sequence"]!.GetValue<long>()));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).DefaultTimeout();
    }
}
