using Felix.Server.Scaleout;
using Felix.Server.Workflows;
using Felix.Tests.Scaleout;

namespace Felix.Tests.Storage;

public sealed class RedisWorkflowStoreTests(RedisServer redis) : WorkflowStoreSpec, IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly RedisTestConnections _connections = new(redis);

    private protected override Task<IWorkflowStore> CreateStoreAsync() => Task.FromResult<IWorkflowStore>(new RedisWorkflowStore(_connections.Open()));

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _connections.DisposeAsync().AsTask();
}
