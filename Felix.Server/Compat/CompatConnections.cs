using System.Collections.Concurrent;

namespace Felix.Server.Compat;

/// <summary>Open raw WebSocket connections on this node, for <c>stats</c> and the status endpoint.</summary>
internal sealed class CompatConnections
{
    private readonly ConcurrentDictionary<string, int> _perWorkflow = new(StringComparer.Ordinal);
    private long _nextId;
    private int _system;

    public long NextId() => Interlocked.Increment(ref _nextId);

    public int SystemCount => Volatile.Read(ref _system);

    public int WorkflowCount => _perWorkflow.Values.Sum();

    public int Total => WorkflowCount + SystemCount;

    public IReadOnlyDictionary<string, int> PerWorkflow => _perWorkflow.Where(p => p.Value > 0).ToDictionary(p => p.Key, p => p.Value);

    public IDisposable TrackWorkflow(string workflowId)
    {
        _perWorkflow.AddOrUpdate(workflowId, 1, static (_, n) => n + 1);
        return new Release(() =>
        {
            if (_perWorkflow.AddOrUpdate(workflowId, 0, static (_, n) => n - 1) <= 0)
            {
                _perWorkflow.TryRemove(new KeyValuePair<string, int>(workflowId, 0));
            }
        });
    }

    public IDisposable TrackSystem()
    {
        Interlocked.Increment(ref _system);
        return new Release(() => Interlocked.Decrement(ref _system));
    }

    private sealed class Release(Action action) : IDisposable
    {
        private Action? _action = action;

        public void Dispose() => Interlocked.Exchange(ref _action, null)?.Invoke();
    }
}
