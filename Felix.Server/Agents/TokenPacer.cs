using System.Runtime.CompilerServices;

namespace Felix.Server.Agents;

/// <summary>
/// One beat for every offline model stream of the process: each writer waits for the next beat, so a token costs a
/// place in the beat's list instead of a timer of its own. The timer runs only while someone waits, and a writer that
/// keeps writing gets one token per beat, the configured pace.
/// </summary>
/// <remarks>
/// The writers due at a beat continue on the beat's own thread, one after another, up to their next wait, so a beat
/// wakes one thread however many streams it paces. (A task shared by all writers hands every writer but the first to
/// the thread pool, and each worker it wakes spins before it sleeps again.)
/// </remarks>
internal sealed class TokenPacer : IDisposable
{
    private readonly TimeSpan _period;
    private readonly ITimer _timer;
    private readonly Lock _lock = new();
    private List<Action> _due = [];
    private bool _running;

    public TokenPacer(TimeSpan period, TimeProvider time)
    {
        _period = period;
        _timer = time.CreateTimer(static state => ((TokenPacer)state!).Beat(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public TimeSpan Period => _period;

    /// <summary>Awaits the next beat; the awaiting writer continues on the beat's thread.</summary>
    public NextBeatAwaitable NextBeat() => new(this);

    /// <summary>
    /// The next beat as a task that a cancel ends early, for a slow beat, where waiting out the beat would hold up the
    /// cancel. It costs a task and a registration per wait, which is why a fast beat does without.
    /// </summary>
    public Task NextBeatAsync(CancellationToken cancellationToken)
    {
        var beat = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(() => beat.TrySetResult());
        return beat.Task.WaitAsync(cancellationToken);
    }

    private void Enqueue(Action continuation)
    {
        lock (_lock)
        {
            _due.Add(continuation);
            if (!_running)
            {
                _running = true;
                _timer.Change(_period, _period);
            }
        }
    }

    private void Beat()
    {
        List<Action> due;
        lock (_lock)
        {
            if (_due.Count == 0)
            {
                // Nobody waited a whole period: stop until someone does.
                _running = false;
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                return;
            }

            // A new list, not a reused one: a beat that overruns its period can overlap the next one.
            due = _due;
            _due = new List<Action>(due.Count);
        }

        foreach (var continuation in due)
        {
            continuation();
        }
    }

    public void Dispose() => _timer.Dispose();

    internal readonly struct NextBeatAwaitable(TokenPacer pacer)
    {
        public Awaiter GetAwaiter() => new(pacer);

        internal readonly struct Awaiter(TokenPacer pacer) : ICriticalNotifyCompletion
        {
            public bool IsCompleted => false;

            public void GetResult()
            {
            }

            // The async method's own box restores its execution context when it resumes.
            public void UnsafeOnCompleted(Action continuation) => pacer.Enqueue(continuation);

            public void OnCompleted(Action continuation)
            {
                var context = ExecutionContext.Capture();
                pacer.Enqueue(context is null
                    ? continuation
                    : () => ExecutionContext.Run(context, static state => ((Action)state!)(), continuation));
            }
        }
    }
}
