using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Streaming;

/// <summary>
/// Write, then deliver: no transport sees an event before its append has completed, and an event whose append failed
/// reaches nobody. Checked on every store the server embeds, with hub groups, hub streams and raw sockets listening.
/// </summary>
public sealed class WriteThenDeliverTests
{
    private const string HeldAgent = "held_001";

    /// <summary>How long the clients are watched while the append is open: ample for a delivery that needs no disk.</summary>
    private static readonly TimeSpan Watch = TimeSpan.FromMilliseconds(750);

    public static TheoryData<string> Stores => new() { "InMemory", "Sqlite" };

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task NoTransportSeesAnEventBeforeItsAppendCompletes(string store)
    {
        await using var rig = await Rig.StartAsync(store);

        var publish = rig.PublishHeldAsync();
        await rig.Log.Entered.DefaultTimeout();
        await Task.Delay(Watch);

        Assert.Empty(rig.HeldSeen());
        rig.Log.Release();
        var published = await publish.DefaultTimeout();
        await Poll.UntilAsync(() => Task.FromResult(rig.HeldSeen().Count == 3), "the event on every transport");
        Assert.All(rig.HeldSeen(), seen => Assert.Equal(published.EventId, seen));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task AnEventWhoseAppendFailsReachesNoTransport(string store)
    {
        await using var rig = await Rig.StartAsync(store);

        var publish = rig.PublishHeldAsync();
        await rig.Log.Entered.DefaultTimeout();
        rig.Log.Fail(new IOException("disk full"));

        await Assert.ThrowsAsync<IOException>(() => publish.DefaultTimeout());
        await Task.Delay(Watch);
        Assert.Empty(rig.HeldSeen());
    }

    /// <summary>A held workflow with a hub group member, a hub stream and a raw socket on it.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly ConcurrentQueue<string> _group = new();
        private readonly ConcurrentQueue<string> _stream = new();
        private readonly ConcurrentQueue<string> _raw = new();
        private readonly List<Task> _readers = [];
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource _streamReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _rawReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private FelixApplication _app = null!;
        private HeldModel _model = null!;
        private HubConnection _hub = null!;
        private WebSocket _socket = null!;
        private string _workflowId = "";

        public GatedEventLog Log { get; private set; } = null!;

        public static async Task<Rig> StartAsync(string store)
        {
            var rig = new Rig { _model = new HeldModel() };
            rig._app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Storage:Provider"] = store })
                .WithServices(rig._model.Install)
                .WithServices(GatedEventLog.Install(e => e is AgentOutputEvent { AgentId: HeldAgent }, log => rig.Log = log));
            var workflow = await rig._app.CreateApiClient().CreateWorkflowAsync();
            rig._workflowId = workflow.WorkflowId;

            rig._hub = rig._app.CreateHubConnection("json", HttpTransportType.WebSockets);
            rig._hub.On<AgentOutputEvent>(nameof(IWorkflowClient.AgentOutput), e => rig._group.Enqueue(e.EventId));
            await rig._hub.StartAsync().DefaultTimeout();
            await rig._hub.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), rig._workflowId, null).DefaultTimeout();
            rig._readers.Add(rig.ReadStreamAsync());

            rig._socket = await rig._app.ConnectRawAsync($"api/v1/ws/workflows/{rig._workflowId}?types=all");
            rig._readers.Add(rig.ReadRawAsync());
            // Both readers have had their first frame, so their subscriptions are live before anything is published.
            await Task.WhenAll(rig._streamReady.Task, rig._rawReady.Task).DefaultTimeout();
            return rig;
        }

        public async Task<WorkflowEvent> PublishHeldAsync() =>
            await _app.Services.GetRequiredService<EventPublisher>().PublishAsync(new AgentOutputEvent
            {
                WorkflowId = _workflowId, AgentId = HeldAgent, AgentType = "research", Content = "held", Confidence = 0.5,
            });

        /// <summary>The event ids of the held agent's output each transport has received: group, stream, raw.</summary>
        public List<string> HeldSeen() => [.. _group, .. _stream, .. _raw];

        private async Task ReadStreamAsync()
        {
            await foreach (var evt in _hub.StreamAsync<WorkflowEvent>(nameof(IWorkflowHub.StreamEvents), _workflowId, null, null, _stop.Token))
            {
                _streamReady.TrySetResult();
                if (evt is AgentOutputEvent { AgentId: HeldAgent })
                {
                    _stream.Enqueue(evt.EventId);
                }
            }
        }

        private async Task ReadRawAsync()
        {
            while (await _socket.ReceiveJsonAsync(TimeSpan.FromMinutes(5)) is JsonObject frame)
            {
                _rawReady.TrySetResult();
                if (frame["agent_id"]?.GetValue<string>() == HeldAgent)
                {
                    _raw.Enqueue(frame["event_id"]!.GetValue<string>());
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _socket.Abort();
            await _hub.DisposeAsync();
            await Task.WhenAny(Task.WhenAll(_readers), Task.Delay(TestTimeouts.Default));
            _model.Release();
            await _app.DisposeAsync();
            _socket.Dispose();
            _stop.Dispose();
        }
    }
}
