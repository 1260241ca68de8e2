using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

public sealed class SqliteEventLogTests : EventLogSpec, IAsyncLifetime
{
    private readonly SqliteTestDatabase _files = new();

    private protected override Task<IEventLog> CreateEventLogAsync(int maxEventsPerWorkflow = StreamingOptions.DefaultMaxEventsPerWorkflow) =>
        Task.FromResult<IEventLog>(_files.OpenEventLog(_files.Open(), maxEventsPerWorkflow));

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _files.DisposeAsync().AsTask();

    [Fact]
    public async Task ReopenedFileKeepsHistoryEpochAndContinuesSequences()
    {
        var first = _files.OpenEventLog(_files.Open());
        await AppendManyAsync(first, "wf_a", 5);
        var before = await first.GetStateAsync("wf_a").DefaultTimeout();
        await first.DisposeAsync();

        var second = _files.OpenEventLog(_files.Open());
        var next = Output("wf_a", 6);
        await second.AppendAsync(next).AsTask().DefaultTimeout();

        Assert.Equal(before!.Value.Epoch, next.Epoch);
        Assert.Equal(6, next.Sequence);
        var all = (await second.ReadAsync("wf_a", 0, 100).DefaultTimeout()).Events;
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L], all.Select(e => e.Sequence));
    }

    [Fact]
    public async Task InMemoryDatabaseWorksAndIsPrivateToItsInstance()
    {
        var one = _files.OpenEventLog(_files.Open(inMemory: true));
        var two = _files.OpenEventLog(_files.Open(inMemory: true));
        await AppendManyAsync(one, "wf_a", 3);

        Assert.Equal(3, (await one.ReadAsync("wf_a", 0, 10).DefaultTimeout()).Events.Count);
        Assert.Null(await two.GetStateAsync("wf_a").DefaultTimeout());
        Assert.False(System.IO.File.Exists(_files.File));
    }
}
