using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Felix.Server.Observability;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Felix.Server.Platform;

/// <summary>
/// ASP.NET Core rate limiting, partitioned by principal: workflow creation and connection attempts per minute, and
/// caps on open streaming connections (a WebSocket holds its lease for as long as it is open). Refusals answer 429 with
/// <c>Retry-After</c> and a problem.
/// </summary>
internal static class RateLimits
{
    public const string CreateWorkflowPolicy = "create-workflow";
    public const string ConnectPolicy = "connect";

    public static IServiceCollection AddFelixRateLimits(this IServiceCollection services)
    {
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = OnRejectedAsync;
            options.AddPolicy(CreateWorkflowPolicy, context => PerPrincipalPerMinute(context, Limits(context).WorkflowsPerMinute));
            options.AddPolicy(ConnectPolicy, context => PerPrincipalPerMinute(context, Limits(context).ConnectionAttemptsPerMinute));
            options.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                PartitionedRateLimiter.Create<HttpContext, string>(context => StreamingRequests.HoldsConnection(context)
                    ? RateLimitPartition.GetConcurrencyLimiter("total", _ => new ConcurrencyLimiterOptions { PermitLimit = Limits(context).MaxConnections, QueueLimit = 0 })
                    : RateLimitPartition.GetNoLimiter("none")),
                PartitionedRateLimiter.Create<HttpContext, string>(context => StreamingRequests.HoldsConnection(context)
                    ? RateLimitPartition.GetConcurrencyLimiter("p:" + PrincipalKey(context), _ => new ConcurrencyLimiterOptions { PermitLimit = Limits(context).MaxConnectionsPerPrincipal, QueueLimit = 0 })
                    : RateLimitPartition.GetNoLimiter("none")));
        });
        return services;
    }

    private static RateLimitPartition<string> PerPrincipalPerMinute(HttpContext context, int perMinute) =>
        RateLimitPartition.GetTokenBucketLimiter(PrincipalKey(context), _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = perMinute,
            TokensPerPeriod = perMinute,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        });

    private static string PrincipalKey(HttpContext context) =>
        context.User.FindFirstValue(ClaimTypes.Name) is { Length: > 0 } name && context.User.Identity?.IsAuthenticated == true
            ? "user:" + name
            : "ip:" + context.Connection.RemoteIpAddress;

    private static LimitsOptions Limits(HttpContext context) =>
        context.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value;

    private static async ValueTask OnRejectedAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait)
            ? (int)Math.Ceiling(wait.TotalSeconds)
            : Limits(context).ConnectionRetryAfterSeconds;
        var isConnectionCap = !rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out _) && StreamingRequests.HoldsConnection(context);
        context.RequestServices.GetRequiredService<FelixMetrics>().Rejected(isConnectionCap ? "connections" : "rate");
        context.Response.Headers.RetryAfter = Math.Max(1, retryAfter).ToString(CultureInfo.InvariantCulture);
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many requests",
                Detail = isConnectionCap
                    ? "Too many open connections for this key or this server. Close some and retry."
                    : $"Rate limit reached. Retry after {Math.Max(1, retryAfter)} seconds.",
            },
        });
    }
}
