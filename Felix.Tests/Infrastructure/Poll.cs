namespace Felix.Tests.Infrastructure;

/// <summary>Waits for a condition by asking again after short pauses, bounded in total (never a fixed sleep).</summary>
internal static class Poll
{
    public static readonly TimeSpan DefaultLimit = TimeSpan.FromSeconds(30);

    public static Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? limit = null) =>
        UntilAsync(condition, () => what, limit);

    /// <summary>As above, with the description made when giving up, so it can say what was seen by then.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, Func<string> what, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? DefaultLimit);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Gave up waiting for {what()}.");
            }

            await Task.Delay(50);
        }
    }
}
