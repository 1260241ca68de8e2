using Felix.Client;
using Felix.Contracts.Events;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using static Felix.Tests.Client.ClientTestSupport;

namespace Felix.Tests.Client;

/// <summary>A connection dropped in mid-run: the consumer still sees every event once, in order.</summary>
public sealed partial class FelixClientTests
{
    public static readonly TheoryData<FelixProtocol, bool> ProtocolsAndStatefulReconnect = new()
    {
        { FelixProtocol.Json, false },
        { FelixProtocol.MessagePack, false },
        { FelixProtocol.Json, true },
        { FelixProtocol.MessagePack, true },
    };

    // How long the crashed server stays away: several connection attempts, well inside the reconnect delays.
    private static readonly TimeSpan CrashOutage = TimeSpan.FromSeconds(2);

    [Theory]
    [MemberData(nameof(ProtocolsAndStatefulReconnect))]
    public async Task DroppedConnectionInMidRunLeavesNoGapAndNoDuplicate(FelixProtocol protocol, bool statefulReconnect)
    {
        var model = new HeldModel();
        await using var app = CreateServer().WithServices(model.Install);
        var sockets = new AbortableSockets(Key);
        var resumedAfter = new List<long>();
        using var client = CreateClient(app, protocol, configure: o =>
        {
            o.WebSocketFactory = sockets.ConnectAsync;
            o.StatefulReconnect = statefulReconnect;
        });
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 3).DefaultTimeout();

        var events = new List<WorkflowEvent>();
        await using (var reader = client.WatchAsync(workflow.WorkflowId, new WatchOptions { OnResuming = resumedAfter.Add }).GetAsyncEnumerator())
        {
            Assert.True(await reader.MoveNextAsync().DefaultTimeout());
            events.Add(reader.Current);

            // The run is held at its first model call: drop the socket, then let the run go on while the client reconnects.
            sockets.AbortLatest();
            model.Release();
            while (await reader.MoveNextAsync().DefaultTimeout())
            {
                events.Add(reader.Current);
            }
        }

        await AssertWholeRunAsync(client, workflow.WorkflowId, events);
        Assert.True(sockets.Count >= 2, $"the client opened {sockets.Count} socket(s); a reconnect needs a second one");
        if (!statefulReconnect)
        {
            // Without stateful reconnect the lost stream is resumed by sequence once, after the last event delivered before
            // the drop (the first, or a few more that were already on their way).
            var after = Assert.Single(resumedAfter);
            Assert.InRange(after, 1, events[^1].Sequence - 1);
        }
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(ClientTestSupport))]
    public async Task WatchOutlastsAServerThatCrashedAndCameBackOnTheSamePort(FelixProtocol protocol)
    {
        // Paced, so that events are on their way when the server goes away.
        await using var app = new FelixApplication(
            new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key, ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.020" }, kestrel: true);
        await using var proxy = new TcpDropProxy(app.BaseAddress);
        var resumedAfter = new List<long>();
        using var client = CreateClient(app, protocol, configure: o =>
        {
            // The client talks to the server only through the proxy, which plays the crash: connections reset, then refused.
            o.BaseAddress = proxy.Address;
            o.Transports = new FelixClientOptions().Transports;
            o.ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2)];
        });
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 3).DefaultTimeout();

        var events = new List<WorkflowEvent>();
        await using (var reader = client.WatchAsync(workflow.WorkflowId, new WatchOptions { OnResuming = resumedAfter.Add }).GetAsyncEnumerator())
        {
            while (await reader.MoveNextAsync().DefaultTimeout())
            {
                events.Add(reader.Current);
                if (reader.Current is AgentOutputDeltaEvent)
                {
                    break;
                }
            }

            var rest = ReadToEndAsync(reader, events);
            await proxy.GoDownAsync().DefaultTimeout();
            // Down for longer than the first delays: the watch must keep trying, not throw "Connection refused".
            await Task.Delay(CrashOutage);
            Assert.False(rest.IsCompleted, rest.Exception?.ToString() ?? "the watch ended while the server was down");
            proxy.ComeBack();
            await rest.DefaultTimeout();
        }

        await AssertWholeRunAsync(client, workflow.WorkflowId, events);
        Assert.NotEmpty(resumedAfter);
    }

    private static async Task ReadToEndAsync(IAsyncEnumerator<WorkflowEvent> reader, List<WorkflowEvent> events)
    {
        while (await reader.MoveNextAsync())
        {
            events.Add(reader.Current);
        }
    }
}
