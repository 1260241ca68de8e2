namespace Felix.Server.Hubs;

/// <summary>
/// Deadline tokens for sends: every send started within the same short window shares one token, cancelled
/// <c>deadline</c> plus at most one window after the send started, so no send gets less than its deadline.
/// </summary>
/// <remarks>
/// A token source per send meant a timer per published event: created, armed and disposed (two timer-queue locks)
/// even when the group had no member. Now there is one per window (an eighth of the deadline, 10 ms to 1 s).
/// </remarks>
internal sealed class SharedDeadline(TimeSpan deadline, TimeProvider time)
{
    private readonly long _windowTicks = (long)(Math.Clamp(deadline.TotalSeconds / 8, 0.01, 1) * time.TimestampFrequency);
    private readonly TimeSpan _cancelAfter = deadline + TimeSpan.FromSeconds(Math.Clamp(deadline.TotalSeconds / 8, 0.01, 1));
    private readonly Lock _lock = new();
    private CancellationTokenSource? _current;
    private long _windowEnds;

    public CancellationToken Token
    {
        get
        {
            var now = time.GetTimestamp();
            var current = Volatile.Read(ref _current);
            if (current is not null && now < Volatile.Read(ref _windowEnds))
            {
                return current.Token;
            }

            lock (_lock)
            {
                if (_current is null || now >= _windowEnds)
                {
                    // The previous source is not disposed: sends may still hold its token. Its timer goes when it fires.
                    _current = new CancellationTokenSource(_cancelAfter, time);
                    Volatile.Write(ref _windowEnds, now + _windowTicks);
                }

                return _current.Token;
            }
        }
    }
}
