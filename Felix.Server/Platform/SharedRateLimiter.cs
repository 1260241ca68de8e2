using System.Threading.RateLimiting;

namespace Felix.Server.Platform;

/// <summary>
/// The one partitioned limiter behind every limit Felix keeps per principal, client address or in total (connection
/// caps, connection attempts, workflow creations): each limit is a view of it that picks its own partitions, so their
/// partition keys must not meet (each limit prefixes its keys). A <see cref="PartitionedRateLimiter"/> refills its
/// buckets and drops idle partitions on a 100 ms timer of its own, so one limiter keeps an idle server to one such timer
/// (docs/performance.md, "An idle server").
/// </summary>
internal sealed class SharedRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<LimitedRequest> _limiter =
        PartitionedRateLimiter.Create<LimitedRequest, string>(static request => request.Partition(request.Context));

    /// <summary>A limit whose partitions <paramref name="partition"/> picks; disposing it leaves the shared limiter open.</summary>
    public PartitionedRateLimiter<HttpContext> Limit(Func<HttpContext, RateLimitPartition<string>> partition) =>
        _limiter.WithTranslatedKey<HttpContext>(context => new LimitedRequest(context, partition), leaveOpen: true);

    public void Dispose() => _limiter.Dispose();

    private readonly record struct LimitedRequest(HttpContext Context, Func<HttpContext, RateLimitPartition<string>> Partition);
}
