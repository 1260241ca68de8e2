using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Felix.Server.Streaming;
using MessagePack;
using StackExchange.Redis;

namespace Felix.Server.Scaleout;

/// <summary>
/// The scale-out broker's feed into this node: the workflow events other nodes appended (published by the append script
/// of <see cref="RedisEventLog"/>) go to <see cref="LocalFanout"/>, and their system events to
/// <see cref="SystemEventBus"/>. One subscription per node; messages are handled one at a time in arrival order, and one
/// node publishes a workflow's events in sequence order, so the fan-out gets them in order and fills any gap (a message
/// lost while Redis was away) from the log.
/// </summary>
internal sealed partial class RedisNodeFeed(
    RedisConnection redis,
    LocalFanout fanout,
    SystemEventBus system,
    TimeProvider time,
    ILogger<RedisNodeFeed> logger) : BackgroundService
{
    /// <summary>Short enough that a lost terminal event still ends a stream promptly; long enough to cost idle streams little.</summary>
    public static readonly TimeSpan QuietStreamCheckInterval = TimeSpan.FromSeconds(5);

    private bool _subscribed;

    /// <summary>Subscribes before the server takes requests, so a client's first subscription misses nothing.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await SubscribeAsync();
        }
        catch (RedisConnectionException ex)
        {
            LogSubscribeDeferred(logger, ex);
        }

        await base.StartAsync(cancellationToken);
    }

    private async Task SubscribeAsync()
    {
        (await redis.Subscriber.SubscribeAsync(redis.Keys.EventsChannel)).OnMessage(OnEventAsync);
        (await redis.Subscriber.SubscribeAsync(redis.Keys.SystemChannel)).OnMessage(OnSystemEventAsync);
        _subscribed = true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(QuietStreamCheckInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    if (!_subscribed)
                    {
                        await SubscribeAsync();
                    }

                    await fanout.CatchUpQuietStreamsAsync(QuietStreamCheckInterval, stoppingToken);
                }
                catch (RedisException ex)
                {
                    LogFeedUnavailable(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task OnEventAsync(ChannelMessage message)
    {
        try
        {
            var feed = NodeFeedMessage.Decode((byte[])message.Message!);
            if (feed.Sender == redis.NodeId)
            {
                return; // delivered here when it was published
            }

            var evt = MessagePackSerializer.Deserialize<WorkflowEvent>(feed.Body, FelixSerialization.MessagePackOptions, CancellationToken.None);
            evt.Sequence = feed.Sequence;
            evt.Epoch = feed.Epoch;
            evt.EventId = EventIds.Format(feed.Epoch, feed.Sequence);
            await fanout.DeliverRemoteAsync(evt);
        }
        catch (Exception ex)
        {
            LogRelayFailed(logger, ex);
        }
    }

    private async Task OnSystemEventAsync(ChannelMessage message)
    {
        try
        {
            var (sender, body) = RedisSystemEventForwarder.Decode((byte[])message.Message!);
            if (sender != redis.NodeId)
            {
                await system.DeliverFromOtherNodeAsync(
                    MessagePackSerializer.Deserialize<SystemEvent>(body, FelixSerialization.MessagePackOptions, CancellationToken.None));
            }
        }
        catch (Exception ex)
        {
            LogRelayFailed(logger, ex);
        }
    }

    [LoggerMessage(EventId = 7102, Level = LogLevel.Warning, Message = "Redis is unreachable at start; events of other nodes are delivered once it answers")]
    private static partial void LogSubscribeDeferred(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7101, Level = LogLevel.Error, Message = "An event published on another node could not be delivered")]
    private static partial void LogRelayFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Warning, Message = "The event feed from other nodes is unavailable")]
    private static partial void LogFeedUnavailable(ILogger logger, Exception exception);
}
