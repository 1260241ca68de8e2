using Felix.Contracts.Serialization;
using Felix.Server.Streaming;
using MessagePack;

namespace Felix.Server.Scaleout;

/// <summary>
/// Relays every event this node publishes (already appended to the shared log) to the other nodes' raw WebSockets and
/// hub streams, through one Redis channel: sender node, then the event as MessagePack. The hubs' groups go through the
/// SignalR backplane instead. A terminal event also releases the node's claim on the workflow.
/// </summary>
internal sealed class RedisEventSink(RedisConnection redis, ScaleoutSignals signals) : IEventSink
{
    public async ValueTask DeliverAsync(PublishedEvent evt, CancellationToken cancellationToken)
    {
        await redis.Subscriber.PublishAsync(redis.Keys.EventsChannel, RelayMessage.Encode(redis.NodeId, evt));
        if (evt.Event.IsTerminal)
        {
            await redis.Database.HashDeleteAsync(redis.Keys.Owners, evt.Event.WorkflowId);
            signals.WakeQueue();
        }
    }
}

/// <summary>The relay channel's message: one byte of sender length, the sender's node id (UTF-8), the event (MessagePack).</summary>
internal static class RelayMessage
{
    public static byte[] Encode(string nodeId, PublishedEvent evt)
    {
        var sender = System.Text.Encoding.UTF8.GetBytes(nodeId);
        var body = MessagePackSerializer.Serialize(evt.Event, FelixSerialization.MessagePackOptions, CancellationToken.None);
        var message = new byte[1 + sender.Length + body.Length];
        message[0] = checked((byte)sender.Length);
        sender.CopyTo(message, 1);
        body.CopyTo(message, 1 + sender.Length);
        return message;
    }

    public static (string Sender, ReadOnlyMemory<byte> Body) Decode(byte[] message)
    {
        var length = message[0];
        return (System.Text.Encoding.UTF8.GetString(message, 1, length), message.AsMemory(1 + length));
    }
}
