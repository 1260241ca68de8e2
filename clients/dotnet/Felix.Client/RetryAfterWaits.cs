using System.Net;

namespace Felix.Client;

/// <summary>
/// The waits a watch makes because the server asked for them, and their budget: they are not failed reconnects (the
/// server is up and said when to come back), so they do not use up <see cref="FelixClientOptions.ReconnectDelays"/>,
/// but together, since the last event delivered, they last at most <see cref="FelixClientOptions.RetryAfterLimit"/>.
/// </summary>
internal sealed class RetryAfterWaits(TimeSpan limit, Action<HttpStatusCode, TimeSpan>? onWaiting)
{
    /// <summary>Added at random to each wait, so clients refused together do not all come back in the same moment.</summary>
    private static readonly TimeSpan MaxJitter = TimeSpan.FromSeconds(1);

    /// <summary>The least each wait counts against the budget, so a server that keeps asking for no wait at all is not asked forever.</summary>
    private static readonly TimeSpan MinCounted = TimeSpan.FromSeconds(1);

    private TimeSpan _waited;

    /// <summary>Progress: the budget starts again.</summary>
    public void Reset() => _waited = TimeSpan.Zero;

    /// <summary>Waits as asked (plus jitter); false, without waiting, when that would go past the budget.</summary>
    public async Task<bool> WaitAsync(ServerRetryAfter refusal, CancellationToken cancellationToken)
    {
        if (Take(refusal) is not { } wait)
        {
            return false;
        }

        await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Counts the wait a refusal asks for against the budget and returns it (plus jitter), for a caller that waits
    /// itself; null when it would go past the budget.
    /// </summary>
    public TimeSpan? Take(ServerRetryAfter refusal)
    {
        var counted = refusal.Delay > MinCounted ? refusal.Delay : MinCounted;
        if (_waited + counted > limit)
        {
            return null;
        }

        _waited += counted;
        onWaiting?.Invoke(refusal.StatusCode, refusal.Delay);
        return refusal.Delay + TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * MaxJitter.TotalMilliseconds);
    }
}
