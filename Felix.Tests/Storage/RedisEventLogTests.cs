using Felix.Server.Scaleout;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;
using Felix.Tests.Scaleout;
using Microsoft.Extensions.Options;

namespace Felix.Tests.Storage;

public sealed class RedisEventLogTests(RedisServer redis) : EventLogSpec, IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly RedisTestConnections _connections = new(redis);

    private protected override Task<IEventLog> CreateEventLogAsync(int maxEventsPerWorkflow = StreamingOptions.DefaultMaxEventsPerWorkflow) =>
        Task.FromResult<IEventLog>(Open(_connections.Open(), maxEventsPerWorkflow));

    private static RedisEventLog Open(RedisConnection connection, int maxEventsPerWorkflow = StreamingOptions.DefaultMaxEventsPerWorkflow) =>
        new(connection, new ScaleoutSignals(), Options.Create(new StreamingOptions { MaxEventsPerWorkflow = maxEventsPerWorkflow }));

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _connections.DisposeAsync().AsTask();

    [Fact]
    public async Task TwoNodesAppendingToOneWorkflowShareOneContiguousStream()
    {
        var prefix = RedisTestConnections.NewPrefix();
        var one = Open(_connections.Open(prefix));
        var two = Open(_connections.Open(prefix));

        await Task.WhenAll(
            Task.Run(() => AppendManyAsync(one, "wf_shared", 50)),
            Task.Run(() => AppendManyAsync(two, "wf_shared", 50))).DefaultTimeout();

        var all = (await two.ReadAsync("wf_shared", 0, 1000).DefaultTimeout()).Events;
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), all.Select(e => e.Sequence));
        Assert.Single(all.Select(e => e.Epoch).Distinct());
        Assert.Equal((await one.GetStateAsync("wf_shared").DefaultTimeout())!.Value.Epoch, all[0].Epoch);
    }
}

public sealed class RedisLocalFanoutTests(RedisServer redis) : Streaming.LocalFanoutSpec, IClassFixture<RedisServer>
{
    private readonly RedisTestConnections _connections = new(redis);

    private protected override Task<IEventLog> CreateEventLogAsync() =>
        Task.FromResult<IEventLog>(new RedisEventLog(_connections.Open(), new ScaleoutSignals(), Options.Create(new StreamingOptions())));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _connections.DisposeAsync();
    }
}
