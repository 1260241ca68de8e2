using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Felix.Server.Observability;
using Felix.Server.Security;
using Felix.Server.Workflows;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Felix.Server.Platform;

/// <summary>
/// Rate limits partitioned by principal: workflow creation per minute through <see cref="WorkflowCreationLimit"/>, and
/// the streaming endpoints' connection attempts and caps through <see cref="StreamingAdmission"/>. Refusals answer 429
/// with <c>Retry-After</c> and a problem.
/// </summary>
internal static class RateLimits
{
    public static IServiceCollection AddFelixRateLimits(this IServiceCollection services)
    {
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.SectionName).ValidateSettings(LimitsOptions.SectionName).ValidateOnStart();
        services.AddSingleton<SharedRateLimiter>();
        services.AddSingleton<WorkflowCreationLimit>();
        services.AddSingleton<StreamingAdmission>();
        return services;
    }

    /// <summary>A bucket per principal, keyed <paramref name="prefix"/> and the principal (see <see cref="SharedRateLimiter"/>).</summary>
    internal static RateLimitPartition<string> PerPrincipalPerMinute(string prefix, HttpContext context, int perMinute) =>
        RateLimitPartition.GetTokenBucketLimiter(prefix + PrincipalKey(context), _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = perMinute,
            TokensPerPeriod = perMinute,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        });

    /// <summary>
    /// The identity's name (an API key's name, a JWT's <c>sub</c>) within its tenant; the client's address for requests
    /// without one.
    /// </summary>
    internal static string PrincipalKey(HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name }
            ? "user:" + context.User.FindFirstValue(FelixClaims.Tenant) + "/" + name
            : "ip:" + context.Connection.RemoteIpAddress;

    private static LimitsOptions Limits(HttpContext context) =>
        context.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value;

    /// <summary>Refuses with 429, <c>Retry-After</c> and a problem; disposes the refused lease.</summary>
    internal static Task RejectAsync(HttpContext context, RateLimitLease lease)
    {
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        return WriteAndDisposeAsync(context, lease);

        static async Task WriteAndDisposeAsync(HttpContext context, RateLimitLease lease)
        {
            using (lease)
            {
                await WriteRejectionAsync(context, lease);
            }
        }
    }

    /// <summary>
    /// A streaming connection attempt on a node that is shutting down: 503 and <c>Retry-After</c>, the workflow
    /// options' base plus up to as much again at random (a crowd told together does not come back together).
    /// </summary>
    internal static Task RejectShuttingDownAsync(HttpContext context)
    {
        var seconds = Jittered(context.RequestServices.GetRequiredService<IOptions<WorkflowOptions>>().Value.RetryAfterSeconds);
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Server shutting down",
                Detail = $"The server is stopping and takes no new connections. Retry after {seconds} seconds, against this or another node.",
            },
        }).AsTask();
    }

    /// <summary>The 429 for a refused workflow creation, as a result; sets <c>Retry-After</c>.</summary>
    internal static ProblemHttpResult Refusal(HttpContext context, RateLimitLease lease)
    {
        var retryAfter = Math.Max(1, lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? (int)Math.Ceiling(wait.TotalSeconds) : 60);
        context.RequestServices.GetRequiredService<FelixMetrics>().Rejected("rate");
        context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, type: TooManyRequestsType, title: TooManyRequestsTitle,
            detail: $"Rate limit reached. Retry after {retryAfter} seconds.");
    }

    /// <summary>How often <see cref="PartitionedRateLimiter"/>'s buckets are refilled (its internal timer).</summary>
    private static readonly TimeSpan ReplenishmentTick = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The base plus up to as much again at random: clients refused together (a crowd back after a restart) are told
    /// different times, so they do not all retry in the same second.
    /// </summary>
    private static int Jittered(int seconds) => seconds + Random.Shared.Next(0, Math.Max(1, seconds) + 1);

    private const string TooManyRequestsType = "https://tools.ietf.org/html/rfc6585#section-4";
    private const string TooManyRequestsTitle = "Too many requests";

    private static async Task WriteRejectionAsync(HttpContext context, RateLimitLease lease)
    {
        // A partitioned limiter refills its buckets on a timer of its own: a token is due up to a tick after its period,
        // and a client that comes back exactly on time must find it there.
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait)
            ? (int)Math.Ceiling((wait + ReplenishmentTick).TotalSeconds)
            : Limits(context).ConnectionRetryAfterSeconds;
        var isConnectionCap = !lease.TryGetMetadata(MetadataName.RetryAfter, out _) && StreamingRequests.HoldsConnection(context);
        if (StreamingRequests.IsConnectionAttempt(context))
        {
            retryAfter = Jittered(retryAfter);
        }

        context.RequestServices.GetRequiredService<FelixMetrics>().Rejected(isConnectionCap ? "connections" : "rate");
        context.Response.Headers.RetryAfter = Math.Max(1, retryAfter).ToString(CultureInfo.InvariantCulture);
        // TryWrite: a client that accepts neither JSON nor server-sent events (EventStreamProblemDetailsWriter) gets the status alone.
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                // ASP.NET Core has no default type for 429 (it has one for every other status the API answers).
                Type = TooManyRequestsType,
                Title = TooManyRequestsTitle,
                Detail = isConnectionCap
                    ? "Too many open connections for this key or this server. Close some and retry."
                    : $"Rate limit reached. Retry after {Math.Max(1, retryAfter)} seconds.",
            },
        });
    }
}
