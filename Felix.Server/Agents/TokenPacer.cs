namespace Felix.Server.Agents;

/// <summary>
/// One beat for every offline model stream of the process: each writer waits for the next beat, so a token costs a
/// wait on a task shared by all writers instead of a timer of its own. The timer runs only while someone waits, and a
/// writer that keeps writing gets one token per beat, the configured pace.
/// </summary>
internal sealed class TokenPacer : IDisposable
{
    private readonly TimeSpan _period;
    private readonly ITimer _timer;
    private readonly Lock _lock = new();
    private TaskCompletionSource _beat = NewBeat();
    private int _waiting;
    private bool _running;

    public TokenPacer(TimeSpan period, TimeProvider time)
    {
        _period = period;
        _timer = time.CreateTimer(static state => ((TokenPacer)state!).Beat(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public TimeSpan Period => _period;

    /// <summary>Completes at the next beat.</summary>
    public Task NextBeatAsync()
    {
        lock (_lock)
        {
            _waiting++;
            if (!_running)
            {
                _running = true;
                _timer.Change(_period, _period);
            }

            return _beat.Task;
        }
    }

    private void Beat()
    {
        TaskCompletionSource beat;
        lock (_lock)
        {
            if (_waiting == 0)
            {
                // Nobody waited a whole period: stop until someone does.
                _running = false;
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                return;
            }

            _waiting = 0;
            beat = _beat;
            _beat = NewBeat();
        }

        beat.SetResult();
    }

    // Continuations run on the thread pool, not on the timer's thread one after another.
    private static TaskCompletionSource NewBeat() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose() => _timer.Dispose();
}
