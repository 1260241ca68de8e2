using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>
/// A client that reads slowly but steadily gets the end of its stream: every event, then the documented close. Only a
/// client that stops reading altogether is cut off (<see cref="CompatSlowConsumerTests"/>). The system stream, which has
/// no end of its own, ends at shutdown: every event still, then 1001.
/// </summary>
public sealed class CompatSlowReaderTests
{
    [Fact]
    public async Task ReaderAtFiftyMillisecondsPerFrameGetsEveryEventAndANormalClose()
    {
        // The run produces its events in about a second; the reader takes many seconds over them, so the server finishes
        // sending, and closes, long before the client has read what it was sent.
        await using var app = CreateServer(("Felix:Llm:OfflineTokenDelay", "00:00:00.001"));
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", 8);

        using var socket = await ConnectWithSmallBuffersAsync(app, WorkflowPath(workflow.WorkflowId, "types=all"));
        var framesRead = 0;
        var reading = ReadSlowlyAsync(socket, TimeSpan.FromMilliseconds(50), _ => Interlocked.Increment(ref framesRead));
        await client.WaitForTerminalAsync(workflow.WorkflowId);
        var readWhenTheRunEnded = Volatile.Read(ref framesRead);
        var (frames, closed) = await reading.DefaultTimeout(TimeSpan.FromMinutes(2));

        var stored = await client.ReadEventsAsync(workflow.WorkflowId);
        var events = frames.Events();
        Assert.True(
            readWhenTheRunEnded < events.Count / 2,
            $"the reader was not behind: it had read {readWhenTheRunEnded} of {events.Count} frames when the run ended");
        Assert.Equal(stored.Select(e => e.EventId), events.Select(e => e.EventId()));
        Assert.Equal("workflow_complete", events[^1].Type());
        Assert.Equal("1000", closed);
    }

    [Fact]
    public async Task DefaultTypesReaderAtOneSecondPerFrameGetsEveryEventAndANormalClose()
    {
        await using var app = CreateServer(("Felix:Llm:OfflineTokenDelay", "00:00:00"));
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", 1);

        using var socket = await ConnectWithSmallBuffersAsync(app, WorkflowPath(workflow.WorkflowId));
        var (frames, closed) = await ReadSlowlyAsync(socket, TimeSpan.FromSeconds(1)).DefaultTimeout(TimeSpan.FromMinutes(2));

        var events = frames.Events();
        var documented = (await client.ReadEventsAsync(workflow.WorkflowId))
            .Where(e => DocumentedFrameTypes.Contains(e.Type)).Select(e => e.EventId);
        Assert.Equal(documented, events.Select(e => e.EventId()));
        Assert.Equal("workflow_complete", events[^1].Type());
        Assert.Equal("1000", closed);
    }

    [Fact]
    public async Task SystemStreamReaderAtFiftyMillisecondsPerFrameGetsEveryEventAndAGoingAwayCloseAtShutdown()
    {
        await using var app = CreateServer(("Felix:Llm:OfflineTokenDelay", "00:00:00"));
        using var client = app.CreateApiClient();
        using var socket = await ConnectWithSmallBuffersAsync(app, $"api/v1/ws/system/events?api_key={Key}&types=all");
        var completedRead = new ConcurrentQueue<string>();
        var reading = ReadSlowlyAsync(socket, TimeSpan.FromMilliseconds(50), frame =>
        {
            if (frame.Type() == "workflow_status" && frame["status"]?.GetValue<string>() == "completed")
            {
                completedRead.Enqueue(frame["workflow_id"]!.GetValue<string>());
            }
        });

        // A dozen quick runs publish their system events far faster than the reader takes them.
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            ids.Add((await client.CreateWorkflowAsync($"System stream {i}", 3)).WorkflowId);
        }

        foreach (var id in ids)
        {
            await client.WaitForTerminalAsync(id);
        }

        // Still behind at the stop (the last runs' events, about a second of reading), but not by more than a stopping node
        // waits for the close reply (5 s; a reader further behind is cut off by design). Stopping as soon as the runs had
        // ended left the reader 70 of 85 frames, 3.5-3.8 s, from the close on a quiet machine: little room for jitter.
        await Poll.UntilAsync(() => Task.FromResult(completedRead.Count >= ids.Count - 4), "the reader to be four runs from the end");
        app.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        var (frames, closed) = await reading.DefaultTimeout(TimeSpan.FromMinutes(2));

        Assert.Equal("1001", closed);
        Assert.True(frames.Count > 60, $"too few system events to fall behind: {frames.Count}");
        foreach (var id in ids)
        {
            var ofWorkflow = frames.Where(f => f["workflow_id"]?.GetValue<string>() == id).ToList();
            Assert.Contains(ofWorkflow, f => f.Type() == "workflow_created");
            Assert.Contains(ofWorkflow, f => f.Type() == "workflow_status" && f["status"]?.GetValue<string>() == "completed");
        }
    }

    /// <summary>Reads one frame per <paramref name="pace"/> until the server closes; answers the close as a client does.</summary>
    private static async Task<(List<JsonObject> Frames, string Closed)> ReadSlowlyAsync(WebSocket socket, TimeSpan pace, Action<JsonObject>? read = null)
    {
        var frames = new List<JsonObject>();
        var clock = Stopwatch.StartNew();
        try
        {
            while (await socket.ReceiveJsonAsync(TimeSpan.FromSeconds(30)) is { } frame)
            {
                frames.Add(frame);
                read?.Invoke(frame);
                await Task.Delay(pace);
            }
        }
        catch (WebSocketException ex)
        {
            return (frames, $"aborted after {frames.Count} frames and {clock.Elapsed.TotalSeconds:F1} s: {ex.Message}");
        }

        try
        {
            // The server waits for this reply; one that gave up already has reset the connection.
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).DefaultTimeout();
        }
        catch (WebSocketException ex)
        {
            return (frames, $"{(int?)socket.CloseStatus} received, but the server was gone before the client's close: {ex.Message}");
        }

        return (frames, ((int?)socket.CloseStatus)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no status");
    }
}
