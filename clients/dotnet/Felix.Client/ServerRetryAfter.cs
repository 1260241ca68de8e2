using System.Net;

namespace Felix.Client;

/// <summary>
/// A refusal that means "come back later": 503 (a server draining for a restart, or overloaded) or 429 (a limit on
/// connections or requests) with a <c>Retry-After</c> header that says when.
/// </summary>
internal readonly record struct ServerRetryAfter(HttpStatusCode StatusCode, TimeSpan Delay)
{
    /// <summary>The refusal <paramref name="response"/> carries, or null when it is not one (another status, no header).</summary>
    public static ServerRetryAfter? Of(HttpResponseMessage response, TimeProvider? time = null)
    {
        if (response.StatusCode is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests)
            || DelayOf(response, time) is not { } delay)
        {
            return null;
        }

        return new ServerRetryAfter(response.StatusCode, delay);
    }

    /// <summary>The wait a <c>Retry-After</c> header asks for (delay-seconds or an HTTP date), whatever the status; null without one.</summary>
    public static TimeSpan? DelayOf(HttpResponseMessage response, TimeProvider? time = null) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta < TimeSpan.Zero ? TimeSpan.Zero : delta,
        { Date: { } date } => date - (time ?? TimeProvider.System).GetUtcNow() is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero,
        _ => null,
    };
}
