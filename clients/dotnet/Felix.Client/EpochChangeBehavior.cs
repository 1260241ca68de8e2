namespace Felix.Client;

/// <summary>What a watch does when the server's stream for the workflow is no longer the one it was reading.</summary>
/// <remarks>
/// The epoch changes when the server lost the workflow's history (for example an in-memory event log after a restart), and
/// a position it cannot honour is replayed from the oldest kept event. Sequences of the new epoch start again, so the
/// events before and after the change cannot be merged without a gap or a repeat.
/// </remarks>
public enum EpochChangeBehavior
{
    /// <summary>
    /// Go on with the new stream from its start: the next events carry the new <c>Epoch</c> and restart at the oldest kept
    /// sequence. A consumer that keeps state rebuilds it when <c>Epoch</c> changes.
    /// </summary>
    Restart,

    /// <summary>Stop the watch with a <see cref="FelixStreamResetException"/>.</summary>
    Throw,
}
