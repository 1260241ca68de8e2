using System.Collections.Concurrent;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using MessagePack;
using Microsoft.Extensions.Options;

namespace Felix.Server.Streaming;

/// <summary>Keeps histories in process memory: fast, and gone with the process (a new process starts new epochs).</summary>
/// <remarks>
/// Each event is kept as one MessagePack blob (the encoding the SQLite and Redis logs store) rather than as the event
/// object the publisher handed in: one object with no references for the GC to trace instead of three or four, and no
/// reader can change the history through an event it was given. Reads, rare next to appends (a client joining late or
/// resuming), decode what they return. A run's history is its checkpoint, so retention cuts a stream once, at its
/// terminal event.
/// </remarks>
internal sealed class InMemoryEventLog(IOptions<StreamingOptions> options) : IEventLog
{
    private readonly ConcurrentDictionary<string, History> _histories = new(StringComparer.Ordinal);
    private readonly int _maxEvents = options.Value.MaxEventsPerWorkflow;

    public ValueTask AppendAsync(WorkflowEvent evt, long fence = 0, CancellationToken cancellationToken = default)
    {
        var history = _histories.GetOrAdd(evt.WorkflowId, static _ => new History(EventIds.NewEpoch()));
        lock (history)
        {
            history.Fences.Admit(evt, fence);
            evt.Sequence = history.LastSequence + 1;
            evt.Epoch = history.Epoch;
            evt.EventId = EventIds.Format(history.Epoch, evt.Sequence);
            history.Add(MessagePackSerializer.Serialize(evt, FelixSerialization.MessagePackOptions, CancellationToken.None));
            history.LastSequence = evt.Sequence;
            if (evt.IsTerminal)
            {
                history.KeepNewest(_maxEvents);
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<StreamState?> GetStateAsync(string workflowId, CancellationToken cancellationToken = default)
    {
        if (!_histories.TryGetValue(workflowId, out var history))
        {
            return ValueTask.FromResult<StreamState?>(null);
        }

        lock (history)
        {
            return ValueTask.FromResult<StreamState?>(new StreamState(history.Epoch, history.LastSequence, history.FirstSequence));
        }
    }

    public ValueTask<HistoryPage> ReadAsync(string workflowId, long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        if (!_histories.TryGetValue(workflowId, out var history))
        {
            return ValueTask.FromResult(HistoryPage.Empty);
        }

        byte[][] bodies;
        bool truncated;
        lock (history)
        {
            if (history.Count == 0)
            {
                return ValueTask.FromResult(HistoryPage.Empty);
            }

            var first = history.FirstSequence;
            truncated = afterSequence + 1 < first;
            // Sequences are contiguous, so the index is arithmetic.
            var start = (int)Math.Min(history.Count, Math.Max(0, afterSequence + 1 - first));
            bodies = history.Slice(start, Math.Max(0, Math.Min(limit, history.Count - start)));
        }

        var events = new WorkflowEvent[bodies.Length];
        for (var i = 0; i < bodies.Length; i++)
        {
            events[i] = MessagePackSerializer.Deserialize<WorkflowEvent>(bodies[i], FelixSerialization.MessagePackOptions, cancellationToken);
        }

        return ValueTask.FromResult(new HistoryPage(events, truncated));
    }

    /// <summary>The kept events of one workflow, oldest first.</summary>
    private sealed class History(string epoch)
    {
        private readonly List<byte[]> _bodies = [];

        public string Epoch { get; } = epoch;

        public StreamFences Fences { get; } = new();

        public long LastSequence { get; set; }

        public int Count => _bodies.Count;

        public long FirstSequence => LastSequence - Count + 1;

        public void Add(byte[] body) => _bodies.Add(body);

        public void KeepNewest(int max)
        {
            if (Count > max)
            {
                _bodies.RemoveRange(0, Count - max);
            }
        }

        public byte[][] Slice(int start, int count) => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_bodies).Slice(start, count).ToArray();
    }
}
