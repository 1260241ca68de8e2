using Felix.Server.Scaleout;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Felix.Tests.Scaleout;

/// <summary>Connections to a test Redis, each under a key prefix of its own so tests never see each other's keys.</summary>
internal sealed class RedisTestConnections(RedisServer redis) : IAsyncDisposable
{
    private readonly List<RedisConnection> _open = [];

    /// <summary>A connection under <paramref name="prefix"/>, as the node <paramref name="nodeName"/> (default: a node of its own).</summary>
    public RedisConnection Open(string? prefix = null, string? nodeName = null)
    {
        var connection = new RedisConnection(
            Options.Create(new ScaleoutOptions { Configuration = redis.Configuration, KeyPrefix = prefix ?? NewPrefix(), NodeName = nodeName }),
            NullLogger<RedisConnection>.Instance);
        _open.Add(connection);
        return connection;
    }

    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..12];

    public ValueTask DisposeAsync()
    {
        foreach (var connection in _open)
        {
            connection.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}
