namespace Felix.Server.Workflows;

/// <summary>A workflow the engine is running: how to stop it and how to know it stopped.</summary>
internal sealed class ActiveRun(CancellationToken engineStopping) : IDisposable
{
    private readonly CancellationTokenSource _cancellation = CancellationTokenSource.CreateLinkedTokenSource(engineStopping);
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CancellationToken Token => _cancellation.Token;

    /// <summary>True once a client asked to cancel (as opposed to the server shutting down).</summary>
    public bool CancelRequested { get; private set; }

    /// <summary>
    /// Who asked first (the principal's name, or <see cref="Approvals.ApprovalWithdrawal.System"/>): the run that writes
    /// the cancelled end withdraws its pending requests under this name.
    /// </summary>
    public string? CancelledBy { get; private set; }

    public Task Finished => _finished.Task;

    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>Cancels the run; a no-op once it has ended (a cancel can race with the end of the run).</summary>
    public void RequestCancel(string cancelledBy)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            CancelledBy ??= cancelledBy;
            CancelRequested = true;
            _cancellation.Cancel();
        }
    }

    public void MarkFinished() => _finished.TrySetResult();

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _cancellation.Dispose();
        }
    }
}
