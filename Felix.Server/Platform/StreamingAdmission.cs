using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Felix.Server.Platform;

/// <summary>
/// Admission to the streaming endpoints (the hubs, the raw WebSocket protocol): connection attempts per principal per
/// minute, and caps on open connections per principal and in total, each connection holding its lease for as long as
/// it is open. The limiters are System.Threading.RateLimiting's, taken synchronously by a middleware that leaves the
/// lease with the response; ASP.NET Core's rate-limiting middleware would await the rest of the pipeline, so every open
/// connection would keep that middleware's state and its combined lease for hours.
/// </summary>
internal sealed class StreamingAdmission : IDisposable
{
    private readonly PartitionedRateLimiter<HttpContext> _limiter;

    public StreamingAdmission(IOptions<LimitsOptions> options)
    {
        // Caps first, then attempts, as the rate-limiting middleware took its global limiter before an endpoint's policy.
        _limiter = PartitionedRateLimiter.CreateChained(
            PartitionedRateLimiter.Create<HttpContext, string>(context => StreamingRequests.HoldsConnection(context)
                ? RateLimitPartition.GetConcurrencyLimiter("total", _ => new ConcurrencyLimiterOptions { PermitLimit = options.Value.MaxConnections, QueueLimit = 0 })
                : RateLimitPartition.GetNoLimiter("none")),
            PartitionedRateLimiter.Create<HttpContext, string>(context => StreamingRequests.HoldsConnection(context)
                ? RateLimitPartition.GetConcurrencyLimiter("p:" + RateLimits.PrincipalKey(context), _ => new ConcurrencyLimiterOptions { PermitLimit = options.Value.MaxConnectionsPerPrincipal, QueueLimit = 0 })
                : RateLimitPartition.GetNoLimiter("none")),
            PartitionedRateLimiter.Create<HttpContext, string>(context => RateLimits.PerPrincipalPerMinute(context, options.Value.ConnectionAttemptsPerMinute)));
    }

    /// <summary>A lease to hold while the request runs; refused (not acquired) when a limit is reached.</summary>
    public RateLimitLease Admit(HttpContext context) => _limiter.AttemptAcquire(context);

    public void Dispose() => _limiter.Dispose();
}

internal static class StreamingAdmissionExtensions
{
    private sealed class StreamingEndpoint
    {
        public static readonly StreamingEndpoint Instance = new();
    }

    /// <summary>Counts the endpoint's requests as connection attempts, and those that stay open against the caps.</summary>
    public static TBuilder RequireStreamingAdmission<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(StreamingEndpoint.Instance);

    /// <summary>After authentication: limits are per principal.</summary>
    public static IApplicationBuilder UseStreamingAdmission(this IApplicationBuilder app)
    {
        var admission = app.ApplicationServices.GetRequiredService<StreamingAdmission>();
        // Not async: an awaiting middleware keeps its state for the life of the connection.
        return app.Use((context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<StreamingEndpoint>() is null)
            {
                return next(context);
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
