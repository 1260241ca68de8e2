using System.Collections.Concurrent;
using Felix.Contracts.Events;
using Microsoft.Extensions.Options;

namespace Felix.Server.Streaming;

/// <summary>Keeps histories in process memory: fast, and gone with the process (a new process starts new epochs).</summary>
internal sealed class InMemoryEventLog(IOptions<StreamingOptions> options) : IEventLog
{
    private readonly ConcurrentDictionary<string, History> _histories = new(StringComparer.Ordinal);
    private readonly int _maxEvents = options.Value.MaxEventsPerWorkflow;

    public ValueTask AppendAsync(WorkflowEvent evt, CancellationToken cancellationToken = default)
    {
        var history = _histories.GetOrAdd(evt.WorkflowId, static _ => new History(EventIds.NewEpoch()));
        lock (history)
        {
            evt.Sequence = history.LastSequence + 1;
            evt.Epoch = history.Epoch;
            evt.EventId = EventIds.Format(history.Epoch, evt.Sequence);
            history.Events.Add(evt);
            history.LastSequence = evt.Sequence;
            if (history.Events.Count > _maxEvents)
            {
                history.Events.RemoveRange(0, history.Events.Count - _maxEvents);
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
            var first = history.Events.Count == 0 ? history.LastSequence + 1 : history.Events[0].Sequence;
            return ValueTask.FromResult<StreamState?>(new StreamState(history.Epoch, history.LastSequence, first));
        }
    }

    public ValueTask<HistoryPage> ReadAsync(string workflowId, long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        if (!_histories.TryGetValue(workflowId, out var history))
        {
            return ValueTask.FromResult(HistoryPage.Empty);
        }

        lock (history)
        {
            var events = history.Events;
            if (events.Count == 0)
            {
                return ValueTask.FromResult(HistoryPage.Empty);
            }

            var first = events[0].Sequence;
            var truncated = afterSequence + 1 < first;
            // Sequences are contiguous in the list, so the index is arithmetic.
            var start = (int)Math.Max(0, afterSequence + 1 - first);
            var count = Math.Max(0, Math.Min(limit, events.Count - start));
            return ValueTask.FromResult(new HistoryPage(events.GetRange(start, count), truncated));
        }
    }

    private sealed class History(string epoch)
    {
        public string Epoch { get; } = epoch;
        public long LastSequence { get; set; }
        public List<WorkflowEvent> Events { get; } = [];
    }
}
