using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Compat;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Scaleout;

/// <summary>A position a client got from node A is honoured by node B: exactly the rest, no more, no less.</summary>
public sealed class ScaleoutResumeTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly ScaleoutCluster _cluster = new(redis);
    private FelixApplication _b = null!;
    private string _workflowId = "";
    private string _epoch = "";
    private long _last;

    private long Middle => _last / 2;

    private IEnumerable<long> Rest => Enumerable.Range((int)Middle + 1, (int)(_last - Middle)).Select(i => (long)i);

    public async Task InitializeAsync()
    {
        var a = _cluster.StartNode("a");
        using var client = a.CreateApiClient();
        _workflowId = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForTerminalAsync(_workflowId);
        var (epoch, sequences) = await client.ReadHistoryAsync(_workflowId);
        (_epoch, _last) = (epoch, sequences[^1]);
        _b = _cluster.StartNode("b");
    }

    public Task DisposeAsync() => _cluster.DisposeAsync().AsTask();

    [Fact]
    public async Task RawLastEventIdFromNodeAGivesExactlyTheRestOnNodeB()
    {
        using var socket = await _b.ConnectRawAsync($"api/v1/ws/workflows/{_workflowId}?types=all&last_event_id={_epoch}-{Middle}");
        var frames = await socket.ReadToCloseAsync();

        Assert.Equal(Rest, frames.Events().Select(f => f.Sequence()));
        Assert.All(frames.Events(), f => Assert.StartsWith(_epoch + "-", f.EventId(), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task HubAfterSequenceFromNodeAGivesExactlyTheRestOnNodeB(string protocol)
    {
        await using var connection = _b.CreateHubConnection(protocol);
        await connection.StartAsync().DefaultTimeout();

        var events = new List<WorkflowEvent>();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        await foreach (var evt in connection.StreamAsync<WorkflowEvent>(nameof(IWorkflowHub.StreamEvents), _workflowId, Middle, (string[]?)null)
            .WithCancellation(timeout.Token))
        {
            events.Add(evt);
        }

        Assert.Equal(Rest, events.Select(e => e.Sequence));
        Assert.All(events, e => Assert.Equal(_epoch, e.Epoch));
    }
}
