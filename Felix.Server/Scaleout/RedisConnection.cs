using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Felix.Server.Scaleout;

/// <summary>
/// This node's one Redis connection, for the broker, the store, the queue and the leases. Opened without waiting for Redis, so a node
/// starts while Redis is down and reconnects by itself; commands fail at once while disconnected, so requests answer
/// 503 instead of hanging.
/// </summary>
internal sealed partial class RedisConnection : IDisposable
{
    private readonly Lazy<IConnectionMultiplexer> _multiplexer;
    private long _failures;

    public RedisConnection(IOptions<ScaleoutOptions> options, ILogger<RedisConnection> logger)
    {
        var settings = options.Value;
        Keys = new RedisKeys(settings.KeyPrefix);
        NodeId = string.IsNullOrWhiteSpace(settings.NodeName)
            ? Convert.ToHexStringLower(Guid.NewGuid().ToByteArray(), 0, 8)
            : settings.NodeName;
        _multiplexer = new Lazy<IConnectionMultiplexer>(() =>
        {
            var multiplexer = ConnectionMultiplexer.Connect(CreateConfiguration(settings.Configuration!));
            multiplexer.ConnectionFailed += (_, e) =>
            {
                Interlocked.Increment(ref _failures);
                LogConnectionFailed(logger, e.Exception, e.EndPoint?.ToString() ?? "?", e.FailureType.ToString());
            };
            multiplexer.ConnectionRestored += (_, e) => LogConnectionRestored(logger, e.EndPoint?.ToString() ?? "?");
            return multiplexer;
        });
    }

    public RedisKeys Keys { get; }

    /// <summary>This node's id in leases, ownership and relayed events.</summary>
    public string NodeId { get; }

    public IConnectionMultiplexer Multiplexer => _multiplexer.Value;

    /// <summary>
    /// How many times a connection to Redis failed. A Redis met again after a failure may have restarted without its
    /// data, so what a node remembers of Redis's state from before must be read again.
    /// </summary>
    public long Failures => Interlocked.Read(ref _failures);

    public IDatabase Database => Multiplexer.GetDatabase();

    public ISubscriber Subscriber => Multiplexer.GetSubscriber();

    /// <summary>
    /// Subscribes to <paramref name="channel"/>, retrying while Redis is unreachable (a node may start before Redis).
    /// Once subscribed, the connection restores the subscription by itself after a reconnect.
    /// </summary>
    public async Task<ChannelMessageQueue> SubscribeAsync(RedisChannel channel, TimeSpan retryInterval, TimeProvider time, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await Subscriber.SubscribeAsync(channel);
            }
            catch (RedisConnectionException)
            {
                await Task.Delay(retryInterval, time, cancellationToken);
            }
        }
    }

    public static ConfigurationOptions CreateConfiguration(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        // Try again every second: a restarted Redis is used again within about a second of answering.
        options.ReconnectRetryPolicy = new LinearRetry(1000);
        return options;
    }

    public void Dispose()
    {
        if (_multiplexer.IsValueCreated)
        {
            _multiplexer.Value.Dispose();
        }
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "Redis connection to {EndPoint} failed ({FailureType}); reconnecting")]
    private static partial void LogConnectionFailed(ILogger logger, Exception? exception, string endPoint, string failureType);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "Redis connection to {EndPoint} restored")]
    private static partial void LogConnectionRestored(ILogger logger, string endPoint);
}
