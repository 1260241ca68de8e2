namespace Felix.Server.Hubs;

/// <summary>
/// Deadline tokens for sends: every send started within the same short window shares one token, cancelled
/// <c>deadline</c> plus at most one window after the send started, so no send gets less than its deadline.
/// <see cref="Timeout.InfiniteTimeSpan"/> means no deadline.
/// </summary>
/// <remarks>
/// A token source per send meant a timer per published event: created, armed and disposed (two timer-queue locks)
/// even when the group had no member. Now there is one per window: an eighth of the deadline, kept between 10 ms and
/// 1 s (1 s for the default 15 s).
/// </remarks>
internal sealed class SharedDeadline
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _deadline;
    private readonly TimeSpan _window;
    private readonly long _windowTicks;
    private readonly Lock _lock = new();

    // The token and the end of its window are published together: reading them as two fields could pair a new window's
    // end with an old, perhaps already cancelled, token.
    private Window? _current;

    public SharedDeadline(TimeSpan deadline, TimeProvider time)
    {
        _time = time;
        _deadline = deadline;
        _window = TimeSpan.FromSeconds(Math.Clamp(deadline.TotalSeconds / 8, 0.01, 1));
        _windowTicks = (long)(_window.TotalSeconds * time.TimestampFrequency);
    }

    public CancellationToken Token
    {
        get
        {
            if (_deadline == Timeout.InfiniteTimeSpan)
            {
                return CancellationToken.None;
            }

            var now = _time.GetTimestamp();
            if (Volatile.Read(ref _current) is { } current && now < current.Ends)
            {
                return current.Token;
            }

            lock (_lock)
            {
                if (_current is null || now >= _current.Ends)
                {
                    // The previous source is not disposed: sends may still hold its token. Its timer goes when it fires.
                    Volatile.Write(ref _current, new Window(new CancellationTokenSource(_deadline + _window, _time).Token, now + _windowTicks));
                }

                return _current.Token;
            }
        }
    }

    private sealed record Window(CancellationToken Token, long Ends);
}
