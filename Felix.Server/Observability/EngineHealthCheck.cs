using Felix.Server.Workflows;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Felix.Server.Observability;

/// <summary>Ready while the engine loop is taking work; not ready from the moment a shutdown begins (the drain).</summary>
internal sealed class EngineHealthCheck(WorkflowEngine engine, WorkflowQueue queue) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["running"] = engine.ActiveCount, ["queued"] = queue.Count };
        return Task.FromResult(engine.IsRunning && !engine.IsStopping
            ? HealthCheckResult.Healthy("The workflow engine is running.", data)
            : HealthCheckResult.Unhealthy(engine.IsStopping ? "The node is shutting down." : "The workflow engine is not running.", data: data));
    }
}
