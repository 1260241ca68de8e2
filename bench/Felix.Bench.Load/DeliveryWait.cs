using System.Diagnostics;

namespace Felix.Bench.Load;

internal static class DeliveryWait
{
    /// <summary>
    /// Waits until the clients have received <paramref name="expected"/> events more than <paramref name="start"/>, or
    /// nothing has arrived for 5 s after the publish ended (what is missing was dropped), or the run's time is up.
    /// Returns what was delivered and when the last of it arrived.
    /// </summary>
    public static async Task<(long Delivered, TimeSpan Finished)> UntilDeliveredAsync(
        List<BenchClient> clients, long start, long expected, Task publish, Stopwatch clock, TimeSpan timeout)
    {
        long delivered = 0;
        var lastCount = 0L;
        var lastProgress = clock.Elapsed;
        while (clock.Elapsed < timeout)
        {
            await Task.Delay(10);
            delivered = clients.Sum(c => c.Received) - start;
            if (delivered != lastCount)
            {
                lastCount = delivered;
                lastProgress = clock.Elapsed;
            }

            if (delivered >= expected)
            {
                return (delivered, clock.Elapsed);
            }

            if (publish.IsCompleted && clock.Elapsed - lastProgress > TimeSpan.FromSeconds(5))
            {
                return (delivered, lastProgress);
            }
        }

        return (delivered, clock.Elapsed);
    }
}
