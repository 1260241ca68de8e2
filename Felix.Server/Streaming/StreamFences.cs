using Felix.Contracts.Events;

namespace Felix.Server.Streaming;

/// <summary>
/// The write rules every event log applies to a stream, for the logs that check them in process (in memory, SQLite):
/// nothing after the terminal event, and no write from a run attempt older than the newest that wrote. The Redis log
/// applies the same rules in its append script. Callers hold the stream's lock.
/// </summary>
internal sealed class StreamFences
{
    /// <summary>The highest fencing token a run has written with.</summary>
    public long Fence { get; set; }

    /// <summary>Whether the terminal event is in the stream.</summary>
    public bool Ended { get; set; }

    /// <summary>Throws <see cref="AppendRefusedException"/> when the append breaks a rule; otherwise records it.</summary>
    public void Admit(WorkflowEvent evt, long fence)
    {
        if (Ended)
        {
            throw new AppendRefusedException(evt.WorkflowId, AppendRefusal.StreamEnded);
        }

        if (fence > 0 && fence < Fence)
        {
            throw new AppendRefusedException(evt.WorkflowId, AppendRefusal.StaleRun);
        }

        Fence = Math.Max(Fence, fence);
        Ended = evt.IsTerminal;
    }
}
