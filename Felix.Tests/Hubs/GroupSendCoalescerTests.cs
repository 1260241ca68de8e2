using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Felix.Server.Observability;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Hubs;

/// <summary>
/// A burst published faster than it is written goes out in batches (several hub messages per write), and every kind
/// of client still gets every event once, in order: JSON, MessagePack, and a client with stateful reconnect, which is
/// written one event at a time.
/// </summary>
public sealed class GroupSendCoalescerTests
{
    private const int Events = 2000;

    [Fact]
    public async Task ABurstGoesOutInBatchesAndEveryClientGetsEveryEventOnceInOrder()
    {
        await using var app = new FelixApplication(kestrel: true);
        var workflowId = await app.CreateWorkflowAsync();
        using var batchSizes = BatchSizes(app);
        var clients = new (string Name, HubConnection Connection)[]
        {
            ("json", Build(app, "json", statefulReconnect: false)),
            ("messagepack", Build(app, "messagepack", statefulReconnect: false)),
            ("json, stateful reconnect", Build(app, "json", statefulReconnect: true)),
        };
        var received = clients.ToDictionary(c => c.Name, _ => new ConcurrentQueue<long>());
        foreach (var (name, connection) in clients)
        {
            connection.On<AgentOutputDeltaEvent>(nameof(IWorkflowClient.AgentOutputDelta), evt => received[name].Enqueue(evt.Sequence));
            await connection.StartAsync().DefaultTimeout();
            await connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), workflowId, null).DefaultTimeout();
        }

        await app.PublishAsync(workflowId, Events).DefaultTimeout();
        await Poll.UntilAsync(() => Task.FromResult(received.Values.All(q => q.Count >= Events)), "every client to get the burst");

        foreach (var (name, connection) in clients)
        {
            Assert.True(received[name].SequenceEqual(Enumerable.Range(1, Events).Select(i => (long)i)), $"{name} got the events out of order or twice");
            Assert.Equal(HubConnectionState.Connected, connection.State);
            await connection.DisposeAsync();
        }

        Assert.True(batchSizes.Max > 1, "the burst was written one event at a time");
    }

    // What this proves: a stateful-reconnect client that loses its socket in a burst still gets every event once, in
    // order. It does not tell the per-event writes such clients get from batched ones: it also passed with batches
    // written to them (tried), so that rule rests on how SignalR's resend buffer counts writes, not on this test.
    // Skipped while a known defect is open: in about one fresh-clone CI run in three (loaded machine) the client stops
    // receiving mid-burst with its connection still open (a stall, not a close), so events were lost across the
    // reconnect. Suspected: writes queued behind the member's write lock while it is disconnected are cancelled by the
    // shared send deadline and dropped, and SignalR's abort of a stateful connection only makes it reconnect again. See
    // the notes on issues #18 and #26; the guarantee is not claimed in docs/hubs.md until this passes reliably.
    [Fact(Skip = "Known defect: a stateful-reconnect client can lose events across a reconnect under load (issues #18, #26)")]
    public async Task AStatefulReconnectClientThatLosesItsSocketMidBurstGetsEveryEventOnce()
    {
        await using var app = new FelixApplication(kestrel: true);
        var workflowId = await app.CreateWorkflowAsync();
        var sockets = new ConcurrentQueue<System.Net.WebSockets.ClientWebSocket>();
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(app.BaseAddress, HubPaths.Workflows.TrimStart('/')), o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.WebSocketFactory = async (context, cancellationToken) =>
                {
                    var socket = new System.Net.WebSockets.ClientWebSocket();
                    await socket.ConnectAsync(context.Uri, cancellationToken);
                    sockets.Enqueue(socket);
                    return socket;
                };
            })
            .AddMessagePackProtocol(o => o.SerializerOptions = o.SerializerOptions.WithFelixResolver())
            .WithStatefulReconnect()
            .Build();
        var received = new ConcurrentQueue<long>();
        connection.On<AgentOutputDeltaEvent>(nameof(IWorkflowClient.AgentOutputDelta), evt =>
        {
            received.Enqueue(evt.Sequence);
            if (received.Count == Events / 4 && sockets.TryPeek(out var first))
            {
                // The network goes: the client reconnects with its token and the server resends what was not acknowledged.
                first.Abort();
            }
        });
        Exception? closedWith = null;
        var closed = false;
        connection.Closed += ex =>
        {
            (closed, closedWith) = (true, ex);
            return Task.CompletedTask;
        };
        await connection.StartAsync().DefaultTimeout();
        await connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), workflowId, null).DefaultTimeout();

        await app.PublishAsync(workflowId, Events).DefaultTimeout();
        await Poll.UntilAsync(
            () => Task.FromResult(received.Count >= Events || closed),
            () => $"the burst, across the reconnect: {received.Count} events, the last {received.LastOrDefault()}, {sockets.Count} sockets");

        // Said apart, so that a failure tells a closed connection (the one reconnect attempt failed) from a stall.
        Assert.False(closed, $"the connection closed after {received.Count} events and {sockets.Count} sockets: {closedWith}");

        Assert.True(sockets.Count >= 2, "the socket was not replaced");
        Assert.True(received.SequenceEqual(Enumerable.Range(1, Events).Select(i => (long)i)), "events were lost, repeated or reordered across the reconnect");
    }

    [Fact]
    public async Task ASubscriberJoiningDuringABurstGetsEachEventOnceFromHistoryOrLive()
    {
        await using var app = new FelixApplication(kestrel: true);
        var workflowId = await app.CreateWorkflowAsync();
        await using var early = Build(app, "messagepack", statefulReconnect: false);
        await using var late = Build(app, "json", statefulReconnect: false);
        var earlyLive = new ConcurrentQueue<long>();
        var lateLive = new ConcurrentQueue<long>();
        early.On<AgentOutputDeltaEvent>(nameof(IWorkflowClient.AgentOutputDelta), evt => earlyLive.Enqueue(evt.Sequence));
        late.On<AgentOutputDeltaEvent>(nameof(IWorkflowClient.AgentOutputDelta), evt => lateLive.Enqueue(evt.Sequence));
        await early.StartAsync().DefaultTimeout();
        await late.StartAsync().DefaultTimeout();
        await early.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), workflowId, null).DefaultTimeout();

        // Paced so that the burst is still going when the second client joins.
        var publish = app.PublishAsync(workflowId, Events, rate: 2000);
        await Poll.UntilAsync(() => Task.FromResult(earlyLive.Count >= Events / 4), "a quarter of the burst");
        var joined = await late.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), workflowId, null).DefaultTimeout();
        await publish.DefaultTimeout();
        await Poll.UntilAsync(() => Task.FromResult(earlyLive.Count >= Events && lateLive.LastOrDefault() == Events), "the end of the burst on both");

        var history = joined.Events.Select(e => e.Sequence).ToList();
        Assert.NotEmpty(history);
        Assert.True(history.Count < Events, "the second client joined after the burst had ended");
        Assert.Equal(Enumerable.Range(1, Events).Select(i => (long)i), history.Concat(lateLive));
        Assert.Equal(Enumerable.Range(1, Events).Select(i => (long)i), earlyLive);
    }

    // Unpaced, so events queue up for the group: each join lands between queued sends, and a batch that spanned the join
    // would give the new member events from before it (a duplicate of its history) or withhold the ones after it.
    [Fact]
    public async Task SubscribersJoiningBetweenQueuedSendsGetEachEventAfterTheirJoinOnce()
    {
        const int burst = 40_000;
        await using var app = new FelixApplication(kestrel: true);
        var workflowId = await app.CreateWorkflowAsync();
        using var batchSizes = BatchSizes(app);
        await using var early = Build(app, "messagepack", statefulReconnect: false);
        var earlyLive = new ConcurrentQueue<long>();
        early.On<AgentOutputDeltaEvent>(nameof(IWorkflowClient.AgentOutputDelta), evt => earlyLive.Enqueue(evt.Sequence));
        await early.StartAsync().DefaultTimeout();
        await early.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), workflowId, null).DefaultTimeout();
        var late = new List<(HubConnection Connection, ConcurrentQueue<long> Live)>();
        for (var i = 0; i < 6; i++)
        {
            var connection = Build(app, i % 2 == 0 ? "json" : "messagepack", statefulReconnect: false);
            var live = new ConcurrentQueue<long>();
            connection.On<AgentOutputDeltaEvent>(nameof(IWorkflowClient.AgentOutputDelta), evt => live.Enqueue(evt.Sequence));
            await connection.StartAsync().DefaultTimeout();
            late.Add((connection, live));
        }

        var publish = app.PublishAsync(workflowId, burst);
        await Poll.UntilAsync(() => Task.FromResult(!earlyLive.IsEmpty), "the burst to start");
        var histories = new List<List<long>>();
        foreach (var (connection, _) in late)
        {
            var joined = await connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), workflowId, null).DefaultTimeout();
            histories.Add(joined.Events.Select(e => e.Sequence).ToList());
        }

        await publish.DefaultTimeout();
        await Poll.UntilAsync(
            () => Task.FromResult(earlyLive.Count >= burst && late.All(l => l.Live.LastOrDefault() == burst)), "the end of the burst on every client");

        var all = Enumerable.Range(1, burst).Select(i => (long)i).ToList();
        Assert.Equal(all, earlyLive);
        Assert.True(histories[^1].Count < burst, "the last client joined after the burst had ended");
        Assert.True(batchSizes.Max > 1, "nothing queued up: the joins did not land between queued sends");
        for (var i = 0; i < late.Count; i++)
        {
            Assert.Equal(all, histories[i].Concat(late[i].Live));
            await late[i].Connection.DisposeAsync();
        }
    }

    /// <summary>A workflow of the benchmark mode: the engine never runs it, the test publishes into it.</summary>
    private static HubConnection Build(FelixApplication app, string protocol, bool statefulReconnect)
    {
        var builder = new HubConnectionBuilder().WithUrl(new Uri(app.BaseAddress, HubPaths.Workflows.TrimStart('/')), o => o.Transports = HttpTransportType.WebSockets);
        builder = protocol == "json"
            ? builder.AddJsonProtocol(o => o.PayloadSerializerOptions.AddFelixConverters())
            : builder.AddMessagePackProtocol(o => o.SerializerOptions = o.SerializerOptions.WithFelixResolver());
        return (statefulReconnect ? builder.WithStatefulReconnect() : builder).Build();
    }

    /// <summary>The largest batch this application's coalescer writes while it is listened to.</summary>
    private static BatchSizeListener BatchSizes(FelixApplication app) => new(app.Services.GetRequiredService<FelixMetrics>().Meter);

    private sealed class BatchSizeListener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _max;

        public BatchSizeListener(Meter meter)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter == meter && instrument.Name == "felix.hub.events_per_write")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
            {
                long seen;
                while (value > (seen = Interlocked.Read(ref _max)) && Interlocked.CompareExchange(ref _max, value, seen) != seen)
                {
                }
            });
            _listener.Start();
        }

        public long Max => Interlocked.Read(ref _max);

        public void Dispose() => _listener.Dispose();
    }
}
