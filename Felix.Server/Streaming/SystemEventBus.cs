using System.Collections.Immutable;
using System.Threading.Channels;
using Felix.Contracts.Events;

namespace Felix.Server.Streaming;

/// <summary>
/// System-wide events (workflow created, status changes, agents, engine state) for the system hub and the raw system
/// stream, from every node: each is delivered here and forwarded to the other nodes (scale-out), which deliver it to
/// theirs. Not kept in history: a system stream shows what happens while it is open.
/// </summary>
internal sealed class SystemEventBus(IEnumerable<ISystemEventSink> sinks, TimeProvider time, ISystemEventForwarder? forwarder = null)
{
    private readonly ISystemEventSink[] _sinks = [.. sinks];
    private ImmutableArray<Channel<SystemEvent>> _listeners = [];

    public async ValueTask PublishAsync(SystemEvent evt)
    {
        evt.Timestamp = Timestamps.Now(time);
        await DeliverAsync(evt);
        if (forwarder is not null)
        {
            await forwarder.ForwardAsync(evt);
        }
    }

    /// <summary>A system event another node published, for this node's system streams.</summary>
    public ValueTask DeliverFromOtherNodeAsync(SystemEvent evt) => DeliverAsync(evt);

    private async ValueTask DeliverAsync(SystemEvent evt)
    {
        foreach (var sink in _sinks)
        {
            await sink.DeliverAsync(evt);
        }

        foreach (var listener in _listeners)
        {
            // A listener that cannot keep up is completed; its reader sees the end and closes its connection.
            if (!listener.Writer.TryWrite(evt))
            {
                listener.Writer.TryComplete(new SlowConsumerException(Capacity));
            }
        }
    }

    public const int Capacity = 1024;

    public ChannelReader<SystemEvent> Listen(CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<SystemEvent>(new BoundedChannelOptions(Capacity) { SingleReader = true });
        ImmutableInterlocked.Update(ref _listeners, static (list, c) => list.Add(c), channel);
        cancellationToken.Register(() =>
        {
            ImmutableInterlocked.Update(ref _listeners, static (list, c) => list.Remove(c), channel);
            channel.Writer.TryComplete();
        });
        return channel.Reader;
    }
}

/// <summary>A transport that receives every system event.</summary>
internal interface ISystemEventSink
{
    ValueTask DeliverAsync(SystemEvent evt);
}

/// <summary>Hands a system event published here to the other nodes (scale-out only); must not throw or wait long.</summary>
internal interface ISystemEventForwarder
{
    ValueTask ForwardAsync(SystemEvent evt);
}
