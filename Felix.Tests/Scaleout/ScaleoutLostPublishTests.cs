using System.Diagnostics;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Observability;
using Felix.Tests.Compat;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Scaleout;

/// <summary>
/// The broker's delivery guarantee under a real fault: while a workflow runs on node A, the real redis-server drops every
/// node's subscription again and again (<c>CLIENT KILL TYPE pubsub</c>), so node B misses some of A's publishes, the
/// terminal one possibly included. B's watchers on every transport must still see exactly the stored history.
/// </summary>
public sealed class ScaleoutLostPublishTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly ScaleoutCluster _cluster = new(redis);
    private readonly HeldModel _held = new();
    private FelixApplication _a = null!;
    private FelixApplication _b = null!;
    private string _workflowId = "";

    public async Task InitializeAsync()
    {
        _a = _cluster.StartNode("a", _held, settings: new Dictionary<string, string?> { ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.002" });
        using var client = _a.CreateApiClient();
        // Long enough for the drops below to meet publishes: a 3-step run once ended after four drops that lost none.
        _workflowId = (await client.CreateWorkflowAsync(maxSteps: 8)).WorkflowId;
        await client.WaitForStatusAsync(_workflowId, WorkflowStatuses.Running);
        _b = _cluster.StartNode("b");
    }

    public async Task DisposeAsync()
    {
        _held.Release();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task WatchersOnAnotherNodeGetExactlyTheStoredHistoryWhileRedisDropsTheirNodesSubscription()
    {
        using var gapFilled = new InstrumentRecorder(_b.Services.GetRequiredService<FelixMetrics>().Meter, "felix.events.gap_filled");
        using var raw = await _b.ConnectRawAsync($"api/v1/ws/workflows/{_workflowId}?types=all");
        Assert.Equal("connected", (await raw.ReceiveJsonAsync())!.Type());
        await using var group = _b.CreateHubConnection("json");
        var recorder = new HubEventRecorder(group);
        await group.StartAsync().DefaultTimeout();
        var subscription = await group.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), _workflowId, (long?)null).DefaultTimeout();
        await using var stream = _b.CreateHubConnection("messagepack");
        await stream.StartAsync().DefaultTimeout();
        var streamed = ReadStreamAsync(stream);

        _held.Release();
        using var client = _a.CreateApiClient();
        var kills = 0;
        var running = Stopwatch.StartNew();
        while ((await client.GetWorkflowAsync(_workflowId)).Status is WorkflowStatuses.Running or WorkflowStatuses.Pending
            && running.Elapsed < TimeSpan.FromSeconds(60))
        {
            await KillSubscriptionsAsync();
            kills++;
            await Task.Delay(150);
        }

        var rawEvents = (await raw.ReadToCloseAsync()).Events().Select(e => e.Sequence()).ToList();
        await recorder.Terminal.DefaultTimeout(TimeSpan.FromSeconds(30));
        var streamEvents = await streamed.DefaultTimeout(TimeSpan.FromSeconds(30));

        var history = ScaleoutClientExtensions.OneTo((await client.ReadHistoryAsync(_workflowId)).Sequences.Count).ToList();
        Assert.True(kills >= 3, $"the workflow ended before its node's subscriptions were dropped a few times ({kills})");
        Assert.True(gapFilled.Total > 0, "node B missed no publish, so this run proved nothing about filling gaps");
        Assert.Equal(history, rawEvents);
        Assert.Equal(history, subscription.Events.Concat(recorder.Events).Select(e => e.Sequence));
        Assert.Equal(history, streamEvents);
    }

    private async Task<List<long>> ReadStreamAsync(HubConnection connection)
    {
        var sequences = new List<long>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await foreach (var evt in connection.StreamAsync<WorkflowEvent>(nameof(IWorkflowHub.StreamEvents), _workflowId, (long?)null, (string[]?)null)
            .WithCancellation(timeout.Token))
        {
            sequences.Add(evt.Sequence);
        }

        return sequences;
    }

    /// <summary>Closes every subscriber connection the redis-server has: the nodes reconnect and subscribe again.</summary>
    private async Task KillSubscriptionsAsync()
    {
        using var cli = Process.Start("redis-cli", ["-p", redis.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "CLIENT", "KILL", "TYPE", "pubsub"])!;
        await cli.WaitForExitAsync().DefaultTimeout();
        Assert.Equal(0, cli.ExitCode);
    }
}
