using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Felix.Server.Platform;

/// <summary>
/// Workflows a principal may create per minute (<c>Felix:Limits:WorkflowsPerMinute</c>): one budget for every way of
/// creating one (REST and AG-UI), taken where a workflow is about to be created rather than per request. An AG-UI run
/// that watches its workflow again (a client back after a drop) creates nothing and costs nothing.
/// </summary>
internal sealed class WorkflowCreationLimit(IOptions<LimitsOptions> limits, SharedRateLimiter shared) : IDisposable
{
    private readonly PartitionedRateLimiter<HttpContext> _limiter = shared.Limit(
        context => RateLimits.PerPrincipalPerMinute("creations:", context, limits.Value.WorkflowsPerMinute));

    /// <summary>Null when the caller may create a workflow now (the token is spent); otherwise the 429 to answer.</summary>
    public ProblemHttpResult? TryTake(HttpContext context)
    {
        using var lease = _limiter.AttemptAcquire(context);
        return lease.IsAcquired ? null : RateLimits.Refusal(context, lease);
    }

    public void Dispose() => _limiter.Dispose();
}

internal static class WorkflowCreationLimitExtensions
{
    /// <summary>Spends one of the caller's workflow creations, after the request's validation; 429 when none is left.</summary>
    public static RouteHandlerBuilder RequireWorkflowCreationLimit(this RouteHandlerBuilder builder) =>
        builder.AddEndpointFilter(async (context, next) =>
            context.HttpContext.RequestServices.GetRequiredService<WorkflowCreationLimit>().TryTake(context.HttpContext) is { } refused
                ? refused
                : await next(context));
}
