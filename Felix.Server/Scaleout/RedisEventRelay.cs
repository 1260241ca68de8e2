using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Felix.Server.Streaming;
using MessagePack;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Felix.Server.Scaleout;

/// <summary>
/// Feeds events published on other nodes to this node's subscriptions (raw WebSockets, hub streams). Messages are
/// handled one at a time in arrival order, and one node publishes a workflow's events in sequence order, so subscribers
/// see them in order; a subscription fills a gap (a message lost while Redis was away) from the shared log.
/// </summary>
internal sealed partial class RedisEventRelay(
    RedisConnection redis,
    EventPublisher publisher,
    IOptions<ScaleoutOptions> options,
    TimeProvider time,
    ILogger<RedisEventRelay> logger) : BackgroundService
{
    private ChannelMessageQueue? _queue;

    /// <summary>Subscribes before the server takes requests, so a client's first subscription misses nothing.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _queue = await redis.Subscriber.SubscribeAsync(redis.Keys.EventsChannel);
            _queue.OnMessage(Relay);
        }
        catch (RedisConnectionException ex)
        {
            LogSubscribeDeferred(logger, ex);
        }

        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (_queue is null)
            {
                _queue = await redis.SubscribeAsync(redis.Keys.EventsChannel, options.Value.QueuePollInterval, time, stoppingToken);
                _queue.OnMessage(Relay);
            }

            await Task.Delay(Timeout.Infinite, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Relay(ChannelMessage message)
    {
        try
        {
            var (sender, body) = RelayMessage.Decode((byte[])message.Message!);
            if (sender == redis.NodeId)
            {
                return; // this node delivered it locally when it published
            }

            var evt = MessagePackSerializer.Deserialize<WorkflowEvent>(body, FelixSerialization.MessagePackOptions, CancellationToken.None);
            publisher.DeliverToSubscriptions(new PublishedEvent(evt));
        }
        catch (Exception ex)
        {
            LogRelayFailed(logger, ex);
        }
    }

    [LoggerMessage(EventId = 7102, Level = LogLevel.Warning, Message = "Redis is unreachable at start; events of other nodes are relayed once it answers")]
    private static partial void LogSubscribeDeferred(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7101, Level = LogLevel.Error, Message = "An event relayed from another node could not be delivered")]
    private static partial void LogRelayFailed(ILogger logger, Exception exception);
}
