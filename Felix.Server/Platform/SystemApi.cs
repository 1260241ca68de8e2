using System.Reflection;
using System.Security.Claims;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Server.Agents;
using Felix.Server.AgUi;
using Felix.Server.Api;
using Felix.Server.Api.OpenApi;
using Felix.Server.Compat;
using Felix.Server.Hubs;
using Felix.Server.Observability;
using Felix.Server.Security;
using Felix.Server.Workflows;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Felix.Server.Platform;

internal static class SystemApi
{
    public static readonly string Version =
        typeof(SystemApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static RouteGroupBuilder MapSystemApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/system").WithTags("System").RequireAuthorization().ProducesUnauthorized().AllowHead();
        group.MapGet("/status", GetStatus).WithSummary("Engine state, readiness and why not, queue, streaming connections, version and uptime");
        // The original needed an explicit start; Felix Server's engine runs with the process, so both only report.
        group.MapPost("/start", Start).WithSummary("Compatibility: the engine is always running; answers 200");
        group.MapPost("/stop", Stop).WithSummary("Compatibility: the engine stops with the process; answers 200");
        return group;
    }

    /// <summary>
    /// The node's state. Its load figures are the node's for an admin; a tenant's caller gets its own tenant's workflows
    /// (running and queued, from the store, so across the nodes) and agents at work on this node, and no connection
    /// counts: how busy the other tenants are is theirs.
    /// </summary>
    private static async Task<Ok<SystemStatusResponse>> GetStatus(
        ClaimsPrincipal user, WorkflowEngine engine, WorkflowQueue queue, ActiveAgents agents, CompatConnections compat,
        HubConnectionCounter hubs, AgUiConnections agui, IWorkflowStore store, IOptions<WorkflowOptions> workflows, IOptions<LlmOptions> llm,
        TimeProvider time, ServerClock clock, RecentReadiness health, CancellationToken cancellationToken)
    {
        var readiness = await health.GetAsync(cancellationToken);
        var status = new SystemStatusResponse
        {
            Status = engine.IsRunning ? "running" : "stopped",
            FelixVersion = Version,
            ApiVersion = "v1",
            UptimeSeconds = Math.Round((time.GetUtcNow() - clock.StartedAt).TotalSeconds, 1),
            MaxConcurrentWorkflows = workflows.Value.MaxConcurrent,
            LlmProvider = llm.Value.Provider.ToLowerInvariant(),
            KnowledgeBrainEnabled = false,
            Ready = readiness.Status != HealthStatus.Unhealthy,
            NotReady = [.. readiness.Entries.Where(e => e.Value.Status == HealthStatus.Unhealthy).Select(e => $"{e.Key}: {e.Value.Description}")],
        };
        if (FelixClaims.OwnerFilter(user) is { } tenant)
        {
            status.ActiveWorkflows = (await store.ListAsync(WorkflowStatuses.Running, tenant, 1, 1, cancellationToken)).Total;
            status.QueuedWorkflows = (await store.ListAsync(WorkflowStatuses.Pending, tenant, 1, 1, cancellationToken)).Total;
            status.ActiveAgents = agents.Snapshot().Count(a => a.Owner == tenant);
            return TypedResults.Ok(status);
        }

        status.ActiveWorkflows = engine.ActiveCount;
        status.QueuedWorkflows = queue.Count;
        status.ActiveAgents = agents.Count;
        status.Connections = new Dictionary<string, int>
        {
            ["websocket"] = compat.Total,
            ["signalr"] = hubs.Count,
            ["agui"] = agui.Count,
        };
        return TypedResults.Ok(status);
    }

    private static Ok<SystemCommandResponse> Start(WorkflowEngine engine) =>
        TypedResults.Ok(new SystemCommandResponse(engine.IsRunning ? "running" : "stopped", "Felix Server's engine runs with the process."));

    private static Ok<SystemCommandResponse> Stop(WorkflowEngine engine) =>
        TypedResults.Ok(new SystemCommandResponse(engine.IsRunning ? "running" : "stopped", "The engine stops when the server process stops."));
}

internal sealed record SystemCommandResponse(string Status, string Message);

/// <summary>When this server process started, for uptime: the process's own start, not this object's first use.</summary>
internal sealed class ServerClock
{
    public DateTimeOffset StartedAt { get; } = new(System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime(), TimeSpan.Zero);
}
