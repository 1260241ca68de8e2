using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Scaleout;

/// <summary>
/// What the tests of a transport in a Redis outage share: nodes on the fixture's real redis-server, a model held so a run
/// stays in flight, history reads held on demand, the nodes' logs; Redis runs again after a test that failed while it
/// was down, so the next test of the fixture has it.
/// </summary>
public abstract class RedisOutageTest(RedisServer redis) : IAsyncLifetime
{
    private protected RedisServer Redis { get; } = redis;

    private protected ScaleoutCluster Cluster { get; } = new(redis);

    private protected HeldModel Held { get; } = new();

    private protected HeldEventLogReads Reads { get; } = new(HeldRead.History);

    private protected LogCapture Logs { get; } = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        Held.Release();
        Reads.Release();
        await Cluster.DisposeAsync();
        if (!Redis.IsRunning)
        {
            await Redis.StartAsync();
        }
    }

    /// <summary>Redis back (empty, as a restart without persistence leaves it), the held run let go, the node ready again.</summary>
    private protected async Task RestartRedisAsync(HttpClient client)
    {
        await Redis.StartAsync();
        Held.Release();
        await client.WaitUntilReadyAsync();
    }
}
