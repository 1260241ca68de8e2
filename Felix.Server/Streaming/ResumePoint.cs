namespace Felix.Server.Streaming;

/// <summary>Where a subscriber's replay starts, given the stream's state and the position the subscriber asked for.</summary>
internal readonly record struct ResumePoint(string Epoch, long AfterSequence, long HistoryEnd, bool ReplayedFromStart)
{
    /// <summary>
    /// A position is honoured when its epoch (if given) is the stream's and the events after it are still kept. Otherwise
    /// replay starts at the oldest kept event and <see cref="ReplayedFromStart"/> is set, so the client knows to rebuild
    /// its state rather than append.
    /// </summary>
    public static ResumePoint Resolve(StreamState? state, string? epoch, long? afterSequence)
    {
        var after = Math.Max(0, afterSequence ?? 0);
        if (state is not { } s)
        {
            return new ResumePoint("", 0, 0, afterSequence is > 0 || epoch is not null);
        }

        if ((epoch is not null && epoch != s.Epoch) || after > s.LastSequence)
        {
            return new ResumePoint(s.Epoch, 0, s.LastSequence, true);
        }

        return new ResumePoint(s.Epoch, after, s.LastSequence, after + 1 < s.FirstSequence);
    }
}
