using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Felix.Server.Platform;

/// <summary>
/// Admission to the streaming endpoints (the hubs, the raw WebSocket protocol): connection attempts per principal and
/// client address per minute, and per principal after a burst as large as its connection cap, and caps on open
/// connections per principal and in total, each connection holding its lease for as long as
/// it is open. The limiters are System.Threading.RateLimiting's, taken synchronously by a middleware that leaves the
/// lease with the response; ASP.NET Core's rate-limiting middleware would await the rest of the pipeline, so every open
/// connection would keep that middleware's state and its combined lease for hours.
/// </summary>
internal sealed class StreamingAdmission : IDisposable
{
    private readonly PartitionedRateLimiter<HttpContext>[] _limiters;
    private readonly PartitionedRateLimiter<HttpContext> _chain;

    public StreamingAdmission(IOptions<LimitsOptions> options, SharedRateLimiter shared)
    {
        // Caps first, then attempts, as the rate-limiting middleware took its global limiter before an endpoint's policy:
        // a connection refused by a cap does not use up an attempt. The keys of each limit start with its own prefix.
        _limiters =
        [
            shared.Limit(context => StreamingRequests.HoldsConnection(context)
                ? RateLimitPartition.GetConcurrencyLimiter("open", _ => new ConcurrencyLimiterOptions { PermitLimit = options.Value.MaxConnections, QueueLimit = 0 })
                : RateLimitPartition.GetNoLimiter("none")),
            shared.Limit(context => StreamingRequests.HoldsConnection(context)
                ? RateLimitPartition.GetConcurrencyLimiter("open:" + RateLimits.PrincipalKey(context), _ => new ConcurrencyLimiterOptions { PermitLimit = options.Value.MaxConnectionsPerPrincipal, QueueLimit = 0 })
                : RateLimitPartition.GetNoLimiter("none")),
            shared.Limit(context => StreamingRequests.IsConnectionAttempt(context)
                ? RateLimitPartition.GetTokenBucketLimiter("attempts-from:" + RateLimits.PrincipalKey(context) + "@" + context.Connection.RemoteIpAddress, _ => PerMinute(
                    options.Value.ConnectionAttemptsPerMinute, options.Value.ConnectionAttemptsPerMinute))
                : RateLimitPartition.GetNoLimiter("none")),
            shared.Limit(context => StreamingRequests.IsConnectionAttempt(context)
                ? RateLimitPartition.GetTokenBucketLimiter("attempts:" + RateLimits.PrincipalKey(context), _ => PerMinute(
                    options.Value.PrincipalConnectionAttemptsPerMinute,
                    Math.Max(options.Value.MaxConnectionsPerPrincipal, options.Value.PrincipalConnectionAttemptsPerMinute)))
                : RateLimitPartition.GetNoLimiter("none")),
        ];
        _chain = PartitionedRateLimiter.CreateChained(_limiters);
    }

    /// <summary>
    /// The same rate in periods of about a second: a partitioned bucket refills continuously whatever its period, but it
    /// reports a whole period as <c>RetryAfter</c>, so a one-minute period told a refused client to wait a minute for a
    /// token that came back within a second.
    /// </summary>
    internal static TokenBucketRateLimiterOptions PerMinute(int perMinute, int burst)
    {
        var tokensPerPeriod = Math.Max(1, perMinute / 60);
        return new()
        {
            TokenLimit = burst,
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1) * tokensPerPeriod / perMinute,
            QueueLimit = 0,
        };
    }

    /// <summary>A lease to hold while the request runs; refused (not acquired) when a limit is reached.</summary>
    public RateLimitLease Admit(HttpContext context) => _chain.AttemptAcquire(context);

    public void Dispose()
    {
        // The chain does not own the limits it chains; they leave the shared limiter open.
        _chain.Dispose();
        foreach (var limiter in _limiters)
        {
            limiter.Dispose();
        }
    }
}

/// <summary>Endpoint metadata: the endpoint's requests go through <see cref="StreamingAdmission"/>.</summary>
internal sealed class StreamingEndpointMetadata
{
    public static readonly StreamingEndpointMetadata Instance = new();

    private StreamingEndpointMetadata()
    {
    }
}

internal static class StreamingAdmissionExtensions
{
    /// <summary>Counts the endpoint's requests as connection attempts, and those that stay open against the caps.</summary>
    public static TBuilder RequireStreamingAdmission<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(StreamingEndpointMetadata.Instance);

    /// <summary>After authentication: limits are per principal.</summary>
    public static IApplicationBuilder UseStreamingAdmission(this IApplicationBuilder app)
    {
        var admission = app.ApplicationServices.GetRequiredService<StreamingAdmission>();
        var stopping = app.ApplicationServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        // Not async: an awaiting middleware keeps its state for the life of the connection.
        return app.Use((context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<StreamingEndpointMetadata>() is null)
            {
                return next(context);
            }

            // A draining node would close a new stream at once (1001). Taking the attempt from the limits first let a
            // crowd reconnecting to it spend the principal's whole burst there and be told to wait a minute or two by the
            // time the node was back (docs/performance.md, reconnect storm): it is refused before the limits instead.
            if (stopping.IsCancellationRequested)
            {
                return RateLimits.RejectShuttingDownAsync(context);
            }

            var lease = admission.Admit(context);
            if (!lease.IsAcquired)
            {
                return RateLimits.RejectAsync(context, lease);
            }

            context.Response.RegisterForDispose(lease);
            return next(context);
        });
    }
}
