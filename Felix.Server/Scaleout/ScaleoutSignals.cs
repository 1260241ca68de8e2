namespace Felix.Server.Scaleout;

/// <summary>Wakes the shared-queue puller early: work was queued somewhere, or a local run ended and freed a slot.</summary>
internal sealed class ScaleoutSignals
{
    private readonly SemaphoreSlim _work = new(0, 1);

    public void WakeQueue()
    {
        try
        {
            _work.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: one wake-up covers any number of reasons.
        }
    }

    public Task<bool> WaitForWorkAsync(TimeSpan timeout, CancellationToken cancellationToken) => _work.WaitAsync(timeout, cancellationToken);
}
