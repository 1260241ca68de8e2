using System.Security.Claims;
using Felix.Server.Api;
using Felix.Server.Api.OpenApi;
using Felix.Server.Security;
using Felix.Server.Streaming;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Felix.Server.Agents;

internal static class AgentsApi
{
    public static RouteGroupBuilder MapAgentsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/agents").WithTags("Agents").RequireAuthorization().ProducesUnauthorized().AllowHead();
        group.MapGet("/", ListActive).WithSummary("Agents working now, across workflows");
        group.MapGet("/plugins", ListPlugins).WithSummary("Agent roles with their metadata");
        group.MapGet("/plugins/{agentType}", GetPlugin).WithSummary("One agent role")
            .ProducesProblem(StatusCodes.Status404NotFound, "Agent type not found", "There is no agent type 'wizard'.");
        return group;
    }

    private static Ok<AgentListResponse> ListActive(ActiveAgents agents, ClaimsPrincipal user)
    {
        var owner = FelixClaims.OwnerFilter(user);
        var list = agents.Snapshot().Where(a => owner is null || a.Owner == owner).Select(a => new AgentResponse(
            a.AgentId, a.AgentType, a.SpawnTime, "active", Timestamps.Format(a.CreatedAt), a.Task, a.WorkflowId)).ToList();
        return TypedResults.Ok(new AgentListResponse(list, list.Count));
    }

    private static Ok<PluginListResponse> ListPlugins(AgentRegistry registry)
    {
        var plugins = registry.All.Select(ToResponse).ToList();
        return TypedResults.Ok(new PluginListResponse(plugins, plugins.Count));
    }

    private static Results<Ok<PluginResponse>, ProblemHttpResult> GetPlugin(string agentType, AgentRegistry registry) =>
        registry.Find(agentType) is { } plugin
            ? TypedResults.Ok(ToResponse(plugin))
            : TypedResults.Problem(statusCode: 404, title: "Agent type not found", detail: $"There is no agent type '{agentType}'.");

    private static PluginResponse ToResponse(AgentPlugin p) => new(
        p.AgentType, p.DisplayName, p.Description, [p.SpawnFrom, p.SpawnTo], p.Capabilities, p.Tags, p.DefaultTokens, p.Version, p.Author, p.Priority);
}

internal sealed record AgentResponse(string AgentId, string AgentType, double SpawnTime, string Status, string CreatedAt, string CurrentTask, string WorkflowId);

internal sealed record AgentListResponse(IReadOnlyList<AgentResponse> Agents, int Total);

internal sealed record PluginResponse(
    string AgentType, string DisplayName, string Description, double[] SpawnRange, IReadOnlyList<string> Capabilities,
    IReadOnlyList<string> Tags, int DefaultTokens, string Version, string Author, int Priority);

internal sealed record PluginListResponse(IReadOnlyList<PluginResponse> Plugins, int Total);
