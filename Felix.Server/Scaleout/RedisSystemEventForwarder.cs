using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Felix.Server.Streaming;
using MessagePack;
using StackExchange.Redis;

namespace Felix.Server.Scaleout;

/// <summary>
/// Publishes this node's system events to the other nodes (<see cref="RedisNodeFeed"/> delivers them there): sender node
/// id, a newline, the event as MessagePack. Fire and forget: a system stream shows what happens while it is open, and a
/// Redis outage must not hold up the engine or <c>POST</c>.
/// </summary>
internal sealed class RedisSystemEventForwarder(RedisConnection redis) : ISystemEventForwarder
{
    public ValueTask ForwardAsync(SystemEvent evt)
    {
        try
        {
            var header = System.Text.Encoding.UTF8.GetBytes(redis.NodeId + "\n");
            var body = MessagePackSerializer.Serialize(evt, FelixSerialization.MessagePackOptions, CancellationToken.None);
            _ = redis.Subscriber.PublishAsync(redis.Keys.SystemChannel, (byte[])[.. header, .. body], CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
        }

        return ValueTask.CompletedTask;
    }

    public static (string Sender, ReadOnlyMemory<byte> Body) Decode(byte[] message)
    {
        var end = Array.IndexOf(message, (byte)'\n');
        return (System.Text.Encoding.UTF8.GetString(message, 0, end), message.AsMemory(end + 1));
    }
}
