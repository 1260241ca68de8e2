namespace Felix.Server.AgUi;

/// <summary>
/// AG-UI event streams open on this node, for the status endpoint and the connections gauge: a run's stream is a
/// streaming connection like a hub's or a raw socket's (it counts against the same caps), and is shown beside them.
/// </summary>
internal sealed class AgUiConnections
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Opened() => Interlocked.Increment(ref _count);

    public void Closed() => Interlocked.Decrement(ref _count);
}
