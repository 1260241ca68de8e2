using System.Runtime.CompilerServices;

namespace Felix.Server.Agents;

/// <summary>
/// One beat for every offline model stream of the process: each writer waits for the next beat, so a token costs a
/// place in the beat's list instead of a timer of its own. The beat runs only while someone waits, and a writer that
/// keeps writing gets one token per beat, the configured pace.
/// </summary>
/// <remarks>
/// The writers due at a beat continue on the beat's own thread, one after another, up to their next wait, so a beat
/// wakes one thread however many streams it paces. On the system clock that thread is the pacer's own, asleep between
/// beats: a timer's beat wakes the timer thread, then a thread-pool worker that spins before it sleeps again, and the
/// timer thread once more to arm the next beat, which cost more than the tokens themselves at a model's pace. Any other
/// <see cref="TimeProvider"/> (a test's fake clock) drives the beat through its own timer.
/// </remarks>
internal sealed class TokenPacer : IDisposable
{
    /// <summary>How many beats in a row may find nobody waiting before the beat stops.</summary>
    /// <remarks>A writer whose token waits for its commit misses a beat or two; stopping and starting again costs more.</remarks>
    internal const int IdleBeatsBeforeStop = 8;

    private readonly TimeSpan _period;
    private readonly TimeProvider _time;
    private readonly ITimer? _timer;
    // Monitor.Wait needs a monitor, which System.Threading.Lock is not.
    private readonly object _lock = new();
    private List<Action> _due = [];
    private bool _running;
    // When the beat that the last start asked for is due: a period after the writer that started it.
    private long _firstBeat;
    private bool _disposed;
    private int _emptyBeats;

    public TokenPacer(TimeSpan period, TimeProvider time)
        : this(period, time, startBeatThread: true)
    {
    }

    /// <summary>Without <paramref name="startBeatThread"/>, the system clock's beat thread waits for <see cref="StartBeatThread"/>.</summary>
    internal TokenPacer(TimeSpan period, TimeProvider time, bool startBeatThread)
    {
        _period = period;
        _time = time;
        if (time == TimeProvider.System)
        {
            if (startBeatThread)
            {
                StartBeatThread();
            }
        }
        else
        {
            _timer = time.CreateTimer(static state => ((TokenPacer)state!).Beat(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    public TimeSpan Period => _period;

    /// <summary>Starts the system clock's beat thread (a test starts it late, as a loaded machine may run it late).</summary>
    internal void StartBeatThread() => new Thread(RunBeats) { IsBackground = true, Name = "Felix offline model beat" }.Start();

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
                _firstBeat = _time.GetTimestamp() + ToTimestamp(_period);
                _emptyBeats = 0;
                if (_timer is null)
                {
                    Monitor.Pulse(_lock);
                }
                else
                {
                    _timer.Change(_period, _period);
                }
            }
        }
    }

    /// <summary>Takes the writers due at this beat, or stops the beat when nobody has waited for a while.</summary>
    private List<Action>? TakeDue()
    {
        if (_due.Count == 0)
        {
            if (++_emptyBeats >= IdleBeatsBeforeStop)
            {
                _running = false;
                _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }

            return null;
        }

        _emptyBeats = 0;
        // A new list, not a reused one: a beat that overruns its period can overlap the next one.
        var due = _due;
        _due = new List<Action>(due.Count);
        return due;
    }

    private void Beat()
    {
        List<Action>? due;
        lock (_lock)
        {
            due = TakeDue();
        }

        Run(due);
    }

    private void RunBeats()
    {
        // The due time of the next beat; null while the beat is stopped.
        long? next = null;
        while (true)
        {
            List<Action>? due;
            lock (_lock)
            {
                while (!_running && !_disposed)
                {
                    next = null;
                    Monitor.Wait(_lock);
                }

                if (_disposed)
                {
                    return;
                }

                // Taken from the start, not from when this thread got here: a thread that started late (or woke late)
                // would otherwise run the first beat at once and the second right after it to catch up.
                next ??= _firstBeat;

                var wait = _time.GetElapsedTime(_time.GetTimestamp(), next.Value);
                if (wait > TimeSpan.Zero)
                {
                    // Whole milliseconds, rounded up: a wait rounded down to 0 would spin through the last one.
                    Monitor.Wait(_lock, (int)Math.Ceiling(wait.TotalMilliseconds));
                    continue;
                }

                // The next beat keeps the pace from this one's due time, unless this one came a whole period late.
                next = Math.Max(next.Value + ToTimestamp(_period), _time.GetTimestamp());
                due = TakeDue();
            }

            Run(due);
        }
    }

    private long ToTimestamp(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private static void Run(List<Action>? due)
    {
        if (due is null)
        {
            return;
        }

        foreach (var continuation in due)
        {
            continuation();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            Monitor.Pulse(_lock);
        }

        _timer?.Dispose();
    }

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
