namespace Felix.Server.Storage;

/// <summary>
/// A thread of its own that takes what was queued, up to <c>maxBatch</c> items at a time, and hands them to one write.
/// While nothing is queued it sleeps without spinning: at a model's pace every append finds the writer idle, and a
/// thread-pool worker woken for each one spins before it sleeps again, which costs more than the write itself.
/// </summary>
/// <remarks><c>write</c> must not throw: it owns its failures (it fails the items it was given).</remarks>
internal sealed class WriterThread<T>
{
    // Monitor.Wait needs a monitor, which System.Threading.Lock is not.
    private readonly object _gate = new();
    private readonly Queue<T> _queue = new();
    private readonly Action<List<T>> _write;
    private readonly int _maxBatch;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _completed;
    private bool _sleeping;

    public WriterThread(string name, int maxBatch, Action<List<T>> write)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _write = write;
        _maxBatch = maxBatch;
        new Thread(Run) { IsBackground = true, Name = name }.Start();
    }

    /// <summary>Completes once everything queued before <see cref="Complete"/> was written and the thread ended.</summary>
    public Task Stopped => _stopped.Task;

    /// <summary>Queues <paramref name="item"/>; false once <see cref="Complete"/> was called.</summary>
    public bool TryAdd(T item)
    {
        lock (_gate)
        {
            if (_completed)
            {
                return false;
            }

            _queue.Enqueue(item);
            if (_sleeping)
            {
                _sleeping = false;
                Monitor.Pulse(_gate);
            }

            return true;
        }
    }

    /// <summary>Takes no more items; what is queued is still written.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.Pulse(_gate);
        }
    }

    private void Run()
    {
        var batch = new List<T>(_maxBatch);
        while (true)
        {
            lock (_gate)
            {
                while (_queue.Count == 0)
                {
                    if (_completed)
                    {
                        _stopped.TrySetResult();
                        return;
                    }

                    _sleeping = true;
                    Monitor.Wait(_gate);
                }

                while (batch.Count < _maxBatch && _queue.TryDequeue(out var item))
                {
                    batch.Add(item);
                }
            }

            _write(batch);
            batch.Clear();
        }
    }
}
