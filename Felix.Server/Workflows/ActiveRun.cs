namespace Felix.Server.Workflows;

/// <summary>A workflow the engine is running: how to stop it and how to know it stopped.</summary>
internal sealed class ActiveRun(CancellationToken engineStopping) : IDisposable
{
    private readonly CancellationTokenSource _cancellation = CancellationTokenSource.CreateLinkedTokenSource(engineStopping);
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CancellationToken Token => _cancellation.Token;

    /// <summary>True once a client asked to cancel (as opposed to the server shutting down).</summary>
    public bool CancelRequested { get; private set; }

    public Task Finished => _finished.Task;

    public void RequestCancel()
    {
        CancelRequested = true;
        _cancellation.Cancel();
    }

    public void MarkFinished() => _finished.TrySetResult();

    public void Dispose() => _cancellation.Dispose();
}
