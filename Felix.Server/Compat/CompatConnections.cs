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

    /// <summary>Counts a workflow stream until the handle is disposed (once: it is a struct, for <c>using</c>, so that an open connection holds no closure for it).</summary>
    public WorkflowTracked TrackWorkflow(string workflowId)
    {
        _perWorkflow.AddOrUpdate(workflowId, 1, static (_, n) => n + 1);
        return new WorkflowTracked(this, workflowId);
    }

    public SystemTracked TrackSystem()
    {
        Interlocked.Increment(ref _system);
        return new SystemTracked(this);
    }

    private void Untrack(string workflowId)
    {
        if (_perWorkflow.AddOrUpdate(workflowId, 0, static (_, n) => n - 1) <= 0)
        {
            _perWorkflow.TryRemove(new KeyValuePair<string, int>(workflowId, 0));
        }
    }

    internal readonly struct WorkflowTracked(CompatConnections connections, string workflowId) : IDisposable
    {
        public void Dispose() => connections.Untrack(workflowId);
    }

    internal readonly struct SystemTracked(CompatConnections connections) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref connections._system);
    }
}
