using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Tests.Compat;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Scaleout;

/// <summary>A workflow runs on node A; clients on node B, on every transport, see all of it, live.</summary>
public sealed class ScaleoutDeliveryTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly ScaleoutCluster _cluster = new(redis);
    private readonly HeldModel _held = new();
    private FelixApplication _a = null!;
    private FelixApplication _b = null!;
    private string _workflowId = "";

    /// <summary>
    /// Node A alone takes the workflow and holds it running; node B starts after, so it cannot take it. Not with the
    /// cluster's one-second lease: a loaded machine that delays A's renewal past it lets B take the workflow over and
    /// finish it before a live-only client (the raw system stream) has connected.
    /// </summary>
    public async Task InitializeAsync()
    {
        _a = _cluster.StartNode("a", _held, nodeLease: NodeLease);
        using var client = _a.CreateApiClient();
        _workflowId = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForStatusAsync(_workflowId, WorkflowStatuses.Running);
        _b = _cluster.StartNode("b", nodeLease: NodeLease);
    }

    private static readonly TimeSpan NodeLease = TimeSpan.FromSeconds(30);

    public async Task DisposeAsync()
    {
        _held.Release();
        await _cluster.DisposeAsync();
    }

    private async Task<List<long>> HistoryOnAAsync()
    {
        using var client = _a.CreateApiClient();
        await client.WaitForTerminalAsync(_workflowId);
        return (await client.ReadHistoryAsync(_workflowId)).Sequences;
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task HubStreamOnAnotherNodeGetsTheWholeSequenceLive(string protocol)
    {
        await using var connection = _b.CreateHubConnection(protocol);
        await connection.StartAsync().DefaultTimeout();

        var events = new List<WorkflowEvent>();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        await foreach (var evt in connection.StreamAsync<WorkflowEvent>(nameof(IWorkflowHub.StreamEvents), _workflowId, (long?)null, (string[]?)null)
            .WithCancellation(timeout.Token))
        {
            events.Add(evt);
            _held.Release(); // the history is in; everything after this is relayed from node A as it happens
        }

        var history = await HistoryOnAAsync();
        Assert.Equal(ScaleoutClientExtensions.OneTo(history.Count), events.Select(e => e.Sequence));
        Assert.IsType<WorkflowCompleteEvent>(events[^1]);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task HubGroupOnAnotherNodeGetsEveryEventOnceThroughItsNodesFanout(string protocol)
    {
        await using var connection = _b.CreateHubConnection(protocol);
        var recorder = new HubEventRecorder(connection);
        await connection.StartAsync().DefaultTimeout();

        var subscription = await connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), _workflowId, (long?)null).DefaultTimeout();
        _held.Release();
        await recorder.Terminal.DefaultTimeout();

        var history = await HistoryOnAAsync();
        // History then live, each event once: no duplicate to drop, no gap to fill on the client.
        var seen = subscription.Events.Concat(recorder.Events).Select(e => e.Sequence);
        Assert.Equal(ScaleoutClientExtensions.OneTo(history.Count), seen);
        Assert.IsType<WorkflowCompleteEvent>(recorder.Events[^1]);
    }

    [Fact]
    public async Task RawWebSocketOnAnotherNodeGetsTheWholeSequenceLive()
    {
        using var socket = await _b.ConnectRawAsync($"api/v1/ws/workflows/{_workflowId}?types=all");
        var first = await socket.ReceiveJsonAsync();
        Assert.Equal("connected", first!.Type());
        _held.Release();
        var frames = await socket.ReadToCloseAsync();

        var history = await HistoryOnAAsync();
        var events = frames.Events();
        Assert.Equal(ScaleoutClientExtensions.OneTo(history.Count), events.Select(e => e.Sequence()));
        Assert.Equal("workflow_complete", events[^1].Type());
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task SystemHubOnAnotherNodeSeesTheWorkflowsStatusChanges(string protocol)
    {
        await using var connection = _b.CreateHubConnection(protocol, path: HubPaths.System);
        var completed = new TaskCompletionSource<SystemEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.On<SystemEvent>(nameof(ISystemClient.SystemEvent), e =>
        {
            if (e.WorkflowId == _workflowId && e.Type == SystemEvent.WorkflowStatusChanged && e.Status == WorkflowStatuses.Completed)
            {
                completed.TrySetResult(e);
            }
        });
        await connection.StartAsync().DefaultTimeout();
        _held.Release();

        Assert.Equal(WorkflowStatuses.Completed, (await completed.Task.DefaultTimeout()).Status);
    }

    [Fact]
    public async Task RawSystemStreamOnAnotherNodeSeesTheWorkflowsStatusChanges()
    {
        using var socket = await _b.ConnectRawAsync("api/v1/ws/system/events?types=workflow_status");
        Assert.Equal("connected", (await socket.ReceiveJsonAsync())!.Type());
        _held.Release();

        while (await socket.ReceiveJsonAsync() is { } frame)
        {
            if (frame["workflow_id"]?.GetValue<string>() == _workflowId && frame["status"]?.GetValue<string>() == WorkflowStatuses.Completed)
            {
                return;
            }
        }

        Assert.Fail("the system stream ended before the workflow's completion");
    }
}
