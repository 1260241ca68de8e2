using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Felix.Contracts;
using Felix.Bench.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.Mvc;

// The bare broadcasters Felix is compared with, speaking the same bench routes as Felix's benchmark mode:
// - raw: Kestrel + WebSockets and nothing else, sending the same bytes (the same event, serialised once with the same
//   snake_case options), with no log, no auth, no per-connection timeouts and unbounded per-connection queues;
// - Kestrel with hub bytes (Bench:Hubs=kestrel): the same plain WebSocket sending, on the hub's path, the bytes the
//   SignalR hub would send (KestrelHubBroadcaster.cs), to the same SignalR clients, batched as SignalR batches them;
// - SignalR: a hub on the same path with the same protocols and options as Felix's, whose Subscribe only joins the
//   workflow's group, and a group send per event, started and not awaited as Felix does, with no deadline.
// What Felix adds on top of each (log, publisher, auth, limits, deadlines, observability) is what the ratios measure.
// Besides the synthetic publisher, each replays what the real server sent in a paced run (TraceReplay.cs).
var builder = WebApplication.CreateSlimBuilder(args);
var snakeCase = FelixSerialization.CreateSnakeCaseOptions();
var topics = new ConcurrentDictionary<string, Topic>(StringComparer.Ordinal);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSignalR(options =>
    {
        options.KeepAliveInterval = TimeSpan.FromSeconds(15);
        options.ClientTimeoutInterval = TimeSpan.FromSeconds(30);
    })
    .AddJsonProtocol(options => options.PayloadSerializerOptions.AddFelixConverters())
    .AddMessagePackProtocol(options => options.SerializerOptions = options.SerializerOptions.WithFelixResolver());
var app = builder.Build();
app.UseWebSockets();
// Which server answers on the hub path: "signalr" (the bare hub), "kestrel" (the hub's bytes over a plain WebSocket)
// or "none" (for the raw broadcaster's runs, so its publisher does not also send to an empty SignalR group).
var hubs = app.Configuration["Bench:Hubs"] ?? "signalr";
if (hubs == "kestrel")
{
    app.MapKestrelHub(topics);
}
else if (hubs == "signalr")
{
    app.MapHub<BareWorkflowHub>(HubPaths.Workflows);
}

var hub = app.Services.GetRequiredService<IHubContext<BareWorkflowHub>>();
app.MapTraceReplay(topics, hub);

long published = 0;

app.MapPost("/api/v1/bench/workflows", (int count) =>
{
    var ids = new string[Math.Clamp(count, 1, 100_000)];
    for (var i = 0; i < ids.Length; i++)
    {
        ids[i] = "wf_" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray(), 0, 8);
        topics[ids[i]] = new Topic(Convert.ToHexStringLower(Guid.NewGuid().ToByteArray(), 0, 4));
    }

    return Results.Ok(ids);
});

app.MapPost("/api/v1/bench/publish", async ([FromBody] string[] workflowIds, int events, double rate, int bytes, CancellationToken cancellationToken) =>
{
    var text = new string('x', Math.Clamp(bytes, 1, 64 * 1024));
    var count = Math.Clamp(events, 1, 10_000_000);
    var started = Stopwatch.GetTimestamp();
    await Task.WhenAll(workflowIds.Select((id, k) => Task.Run(async () =>
    {
        var topic = topics[id];
        for (var i = 0; i < count && !cancellationToken.IsCancellationRequested; i++)
        {
            if (rate > 0)
            {
                // Workflows are spread over the interval (workflow k of n starts k/n of an interval late), as
                // independent runs are; all of them publishing at the same instant would measure the burst.
                var due = TimeSpan.FromSeconds((i + (double)k / workflowIds.Length) / rate) - Stopwatch.GetElapsedTime(started);
                if (due > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(due, cancellationToken);
                }
            }

            var sequence = Interlocked.Increment(ref topic.Sequence);
            var evt = new AgentOutputDeltaEvent
            {
                WorkflowId = id,
                AgentId = "bench-agent",
                Delta = text,
                Index = i,
                Sequence = sequence,
                Epoch = topic.Epoch,
                EventId = topic.Epoch + "-" + sequence.ToString(CultureInfo.InvariantCulture),
                Timestamp = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
            };
            // Each target pays only for its own clients: the raw frame, the hub group send, or the hub's bytes.
            if (!topic.Subscribers.IsEmpty)
            {
                byte[] frame = JsonSerializer.SerializeToUtf8Bytes(evt, evt.GetType(), snakeCase);
                foreach (var subscriber in topic.Subscribers.Keys)
                {
                    subscriber.Writer.TryWrite(frame);
                }
            }

            if (hubs == "kestrel")
            {
                KestrelHubBroadcaster.Send(topic, nameof(IWorkflowClient.AgentOutputDelta), evt);
            }
            else if (hubs == "signalr")
            {
                _ = hub.Clients.Group(id).SendCoreAsync(nameof(IWorkflowClient.AgentOutputDelta), [evt], CancellationToken.None);
            }

            Interlocked.Increment(ref published);
        }
    }, cancellationToken)));
    return Results.Ok(new BenchPublishResult((long)count * workflowIds.Length, Stopwatch.GetElapsedTime(started).TotalMilliseconds));
});

app.MapGet("/api/v1/bench/stats", (bool collect, bool? aggressive) => Results.Ok(BenchStats.Capture(collect, Interlocked.Read(ref published), aggressive ?? false)));

app.Map("/api/v1/ws/workflows/{workflowId}", async (HttpContext context, string workflowId) =>
{
    if (!context.WebSockets.IsWebSocketRequest || !topics.TryGetValue(workflowId, out var topic))
    {
        return Results.BadRequest();
    }

    using var socket = await context.WebSockets.AcceptWebSocketAsync();
    var queue = SocketPump.CreateQueue();
    topic.Subscribers[queue] = 0;
    // Like Felix's "connected" frame: the client knows it is subscribed once it reads it.
    queue.Writer.TryWrite("{\"type\":\"connected\"}"u8.ToArray());
    try
    {
        await SocketPump.RunAsync(socket, queue, WebSocketMessageType.Text, batch: false, context.RequestAborted);
    }
    finally
    {
        topic.Subscribers.TryRemove(queue, out _);
    }

    return Results.Empty;
});

app.Run();

/// <summary>The workflow hub reduced to what the load generator uses: <c>Subscribe</c> joins the group.</summary>
internal sealed class BareWorkflowHub : Hub
{
    public async Task<WorkflowSubscription?> Subscribe(string workflowId, long? afterSequence)
    {
        await Groups.AddToGroupAsync(Context.ConnectionId, workflowId);
        return null;
    }
}

internal sealed class Topic(string epoch)
{
    public long Sequence;

    public string Epoch { get; } = epoch;

    public ConcurrentDictionary<Channel<ReadOnlyMemory<byte>>, byte> Subscribers { get; } = new();

    /// <summary>Subscribers of the bare Kestrel hub endpoint (<c>Bench:Hubs=kestrel</c>).</summary>
    public ConcurrentDictionary<HubSubscriber, byte> HubSubscribers { get; } = new();
}
