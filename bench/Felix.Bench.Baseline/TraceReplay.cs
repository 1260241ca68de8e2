using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Felix.Bench.Contracts;
using Felix.Contracts;
using Felix.Contracts.Events;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

/// <summary>
/// The bare servers' side of the paced runs: replays what a client of the real server received (<see cref="PacedTrace"/>)
/// to this server's clients, at the same offsets. <c>POST /api/v1/bench/trace</c> loads a trace and maps its workflows
/// onto topics (outside the measured window: parsing a large trace costs more than sending it); <c>POST
/// /api/v1/bench/replay?seconds=</c> replays it (the first <c>seconds</c> only, for a warm-up) and answers when the last
/// frame is sent. One loop sends every frame when due, each stamped with the time it is sent, as the real server stamps
/// an event when it publishes it: raw frames are the recorded bytes with the timestamp rewritten in place; MessagePack
/// frames are read back into their events and sent as a group send, as the bare hub's publisher does.
/// </summary>
internal static class TraceReplay
{
    public static void MapTraceReplay(this WebApplication app, ConcurrentDictionary<string, Topic> topics, IHubContext<BareWorkflowHub> hub)
    {
        Loaded? loaded = null;
        var messagePack = app.Services.GetServices<IHubProtocol>().Single(p => p.Name == "messagepack");

        app.MapPost("/api/v1/bench/trace", async ([FromBody] BenchTraceRequest request) =>
        {
            var trace = await PacedTrace.ReadAsync(request.Path);
            if (trace.Workflows.Count != request.WorkflowIds.Count)
            {
                return Results.BadRequest($"The trace has {trace.Workflows.Count} workflows, {request.WorkflowIds.Count} ids given.");
            }

            var events = trace.Transport == "messagepack"
                ? trace.Workflows.Select(w => w.Select(f => ReadInvocation(messagePack, f.Data)).ToArray()).ToArray()
                : null;
            loaded = new Loaded(trace, [.. request.WorkflowIds], events);
            return Results.Ok(trace.FrameCount);
        });

        app.MapPost("/api/v1/bench/replay", async (double? seconds, CancellationToken cancellationToken) =>
        {
            if (loaded is not { } replay)
            {
                return Results.BadRequest("No trace loaded.");
            }

            var schedule = replay.Trace.Schedule(seconds is > 0 ? TimeSpan.FromSeconds(seconds.Value) : null);
            var counters = new int[replay.Ids.Length];
            var started = Stopwatch.GetTimestamp();
            foreach (var (offset, w, data) in schedule)
            {
                var due = TimeSpan.FromMicroseconds(offset) - Stopwatch.GetElapsedTime(started);
                if (due > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(due, cancellationToken);
                }

                var id = replay.Ids[w];
                if (replay.Events is { } events)
                {
                    var (target, evt) = events[w][counters[w]++];
                    evt.Timestamp = WireStamp.Now();
                    _ = hub.Clients.Group(id).SendCoreAsync(target, [evt], CancellationToken.None);
                    continue;
                }

                var topic = topics[id];
                if (!topic.Subscribers.IsEmpty)
                {
                    var frame = data.ToArray();
                    WireStamp.TryRestamp(frame, DateTime.UtcNow);
                    foreach (var subscriber in topic.Subscribers.Keys)
                    {
                        subscriber.Writer.TryWrite(frame);
                    }
                }
            }

            return Results.Ok(new BenchPublishResult(schedule.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds));
        });
    }

    /// <summary>A recorded hub message (with its length prefix) read back as the invocation of one workflow event.</summary>
    private static (string Target, WorkflowEvent Event) ReadInvocation(IHubProtocol protocol, byte[] data)
    {
        var input = new ReadOnlySequence<byte>(data);
        if (!protocol.TryParseMessage(ref input, EventBinder.Instance, out var message)
            || message is not InvocationMessage { Arguments: [WorkflowEvent evt] } invocation)
        {
            throw new InvalidDataException("A traced hub message is not the invocation of one workflow event.");
        }

        return (invocation.Target, evt);
    }

    private sealed record Loaded(PacedTrace Trace, string[] Ids, (string Target, WorkflowEvent Event)[][]? Events);

    /// <summary>Each client method takes its event type: <c>AgentOutputDelta</c> an <c>agent_output_delta</c> event.</summary>
    private sealed class EventBinder : IInvocationBinder
    {
        public static readonly EventBinder Instance = new();

        public IReadOnlyList<Type> GetParameterTypes(string methodName) =>
            EventTypes.All.TryGetValue(JsonNamingPolicy.SnakeCaseLower.ConvertName(methodName), out var type)
                ? [type]
                : throw new HubException($"No event type for {methodName}.");

        public Type GetReturnType(string invocationId) => typeof(object);

        public Type GetStreamItemType(string streamId) => typeof(object);
    }
}
