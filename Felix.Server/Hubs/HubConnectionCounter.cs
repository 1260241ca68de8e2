namespace Felix.Server.Hubs;

/// <summary>Open SignalR connections on this node, for the status endpoint.</summary>
internal sealed class HubConnectionCounter
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Connected() => Interlocked.Increment(ref _count);

    public void Disconnected() => Interlocked.Decrement(ref _count);
}
