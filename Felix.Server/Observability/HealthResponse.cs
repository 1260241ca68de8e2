using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Felix.Server.Observability;

/// <summary>
/// The answer of <c>/health</c> and <c>/health/ready</c>: the overall status and each entry's status and description,
/// so an operator sees which part is degraded; load balancers read only the status code (503 when Unhealthy).
/// </summary>
internal static class HealthResponse
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsJsonAsync(new
        {
            status = report.Status.ToString(),
            entries = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        }, JsonSerializerOptions.Web);
    }
}
