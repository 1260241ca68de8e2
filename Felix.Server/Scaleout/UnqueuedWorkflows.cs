using System.Collections.Concurrent;

namespace Felix.Server.Scaleout;

/// <summary>
/// Workflows this node holds but could not put on the shared queue: Redis failed between storing (or deciding) a
/// workflow and queueing it, so the client was told of a failure, yet the workflow is stored and nobody else will take
/// it while this node is alive. <see cref="NodeLeaseService"/> queues them (writing a missing first event) once Redis
/// answers. An entry is a hint, checked against Redis before anything is queued, so adding one that turns out to be
/// queued, finished or never stored is harmless.
/// </summary>
internal sealed class UnqueuedWorkflows
{
    private readonly ConcurrentDictionary<string, byte> _ids = new(StringComparer.Ordinal);

    public void Add(string workflowId) => _ids.TryAdd(workflowId, 0);

    public void Remove(string workflowId) => _ids.TryRemove(workflowId, out _);

    public bool IsEmpty => _ids.IsEmpty;

    /// <summary>The workflows waiting to be queued, as they are now.</summary>
    public IReadOnlyCollection<string> Snapshot() => [.. _ids.Keys];
}
