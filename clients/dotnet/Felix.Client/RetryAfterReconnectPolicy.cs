using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Client;

/// <summary>
/// SignalR's automatic reconnect, told of the server's <c>Retry-After</c>: a reconnect attempt that the server refused
/// with 503 or 429 and a <c>Retry-After</c> (a node draining for a restart, a busy one) is tried again after the wait it
/// asked for, within the watch's <see cref="FelixClientOptions.RetryAfterLimit"/>, and does not use up
/// <see cref="FelixClientOptions.ReconnectDelays"/>. Without it a connection that dropped without a close (a network
/// fault, a killed process) came back on the reconnect delays alone, however long the server had asked to be left.
/// </summary>
internal sealed class RetryAfterReconnectPolicy(IReadOnlyList<TimeSpan> delays, RetryAfterRecorder refusals, RetryAfterWaits waits) : IRetryPolicy
{
    private int _failures;

    public TimeSpan? NextRetryDelay(RetryContext retryContext)
    {
        if (retryContext.PreviousRetryCount == 0)
        {
            // A new drop: what was recorded before it answered another attempt.
            _failures = 0;
            refusals.Take();
        }
        else if (refusals.Take() is { } refusal)
        {
            // Null once the budget is spent: the reconnect gives up, and the watch's fresh start throws the refusal.
            return waits.Take(refusal);
        }

        return _failures < delays.Count ? delays[_failures++] : null;
    }
}
