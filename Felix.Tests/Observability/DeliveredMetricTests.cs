using System.Collections.Concurrent;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Felix.Server.Observability;
using Felix.Tests.AgUi;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Observability;

/// <summary>
/// <c>felix.events.delivered</c> counts events handed to a client connection, per connection, on every transport: a
/// hub group with nobody in it adds nothing, each member adds what it was written (live, a Subscribe's history, a
/// stream's items), and an AG-UI stream adds each event it wrote (<c>transport</c> <c>agui</c>). The raw WebSocket's
/// count is <c>Compat/CompatDeliveryMetricsTests</c>.
/// </summary>
public sealed class DeliveredMetricTests
{
    private const int Before = 20;
    private const int Live = 30;

    [Fact]
    public async Task HubDeliveriesAreCountedPerConnectionAndNotForAGroupWithoutMembers()
    {
        await using var app = new FelixApplication(kestrel: true);
        using var delivered = new InstrumentRecorder(app.Services.GetRequiredService<FelixMetrics>().Meter, "felix.events.delivered");
        var workflowId = await app.CreateWorkflowAsync();

        // Nobody follows the workflow yet: its group sends reach no connection.
        await app.PublishAsync(workflowId, Before).DefaultTimeout();
        Assert.Equal(0, delivered.TotalWith("transport", "signalr"));

        var members = new (string Name, HubConnection Connection)[]
        {
            ("json", Build(app, "json", statefulReconnect: false)),
            ("messagepack", Build(app, "messagepack", statefulReconnect: false)),
            ("json, stateful reconnect", Build(app, "json", statefulReconnect: true)),
        };
        var live = members.ToDictionary(m => m.Name, _ => new ConcurrentQueue<long>());
        foreach (var (name, connection) in members)
        {
            connection.On<AgentOutputDeltaEvent>(nameof(IWorkflowClient.AgentOutputDelta), evt => live[name].Enqueue(evt.Sequence));
            await connection.StartAsync().DefaultTimeout();
            var subscription = await connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), workflowId, null).DefaultTimeout();
            Assert.Equal(Before, subscription.Events.Count);
        }

        var streamer = Build(app, "json", statefulReconnect: false);
        await streamer.StartAsync().DefaultTimeout();
        using var streaming = new CancellationTokenSource();
        var streamed = new ConcurrentQueue<long>();
        var reading = Task.Run(async () =>
        {
            await foreach (var evt in streamer.StreamAsync<WorkflowEvent>(nameof(IWorkflowHub.StreamEvents), workflowId, null, null, streaming.Token))
            {
                streamed.Enqueue(evt.Sequence);
            }
        });
        await Poll.UntilAsync(() => Task.FromResult(streamed.Count >= Before), "the stream to replay the history");

        await app.PublishAsync(workflowId, Live).DefaultTimeout();
        await Poll.UntilAsync(() => Task.FromResult(live.Values.All(q => q.Count >= Live) && streamed.Count >= Before + Live),
            "every connection to get the live events");
        const int Expected = 3 * (Before + Live) + (Before + Live);
        await Poll.UntilAsync(() => Task.FromResult(delivered.TotalWith("transport", "signalr") >= Expected),
            () => $"{Expected} hub deliveries to be counted (counted {delivered.TotalWith("transport", "signalr")})");
        await streaming.CancelAsync();
        await reading.ContinueWith(_ => { }, TaskScheduler.Default).DefaultTimeout();

        Assert.All(live.Values, q => Assert.Equal(Live, q.Count));
        Assert.Equal(Before + Live, streamed.Count);
        Assert.Equal(Expected, delivered.TotalWith("transport", "signalr"));
        foreach (var (_, connection) in members)
        {
            await connection.DisposeAsync();
        }

        await streamer.DisposeAsync();
    }

    [Fact]
    public async Task EveryEventAnAgUiStreamWritesIsCountedAsDeliveredOverAgui()
    {
        await using var app = new FelixApplication(kestrel: true);
        using var delivered = new InstrumentRecorder(app.Services.GetRequiredService<FelixMetrics>().Meter, "felix.events.delivered");
        using var client = app.CreateApiClient();

        var run = await (await client.PostRunAsync("thread-counted", "run-1", "Count what the AG-UI client gets", new { max_steps = 1 })).ReadAllEventsAsync();
        var again = await (await client.PostRunAsync("thread-counted", "run-2", "Count what the AG-UI client gets")).ReadAllEventsAsync();

        Assert.NotEmpty(run);
        Assert.Equal(run.Count + again.Count, delivered.TotalWith("transport", "agui"));
    }

    private static HubConnection Build(FelixApplication app, string protocol, bool statefulReconnect)
    {
        var builder = new HubConnectionBuilder().WithUrl(new Uri(app.BaseAddress, HubPaths.Workflows.TrimStart('/')), o => o.Transports = HttpTransportType.WebSockets);
        builder = protocol == "json"
            ? builder.AddJsonProtocol(o => o.PayloadSerializerOptions.AddFelixConverters())
            : builder.AddMessagePackProtocol(o => o.SerializerOptions = o.SerializerOptions.WithFelixResolver());
        return (statefulReconnect ? builder.WithStatefulReconnect() : builder).Build();
    }
}
