using System.Collections.Concurrent;

namespace Felix.Server.Agents;

/// <summary>Agents working right now, across workflows (<c>GET /api/v1/agents</c>).</summary>
internal sealed class ActiveAgents
{
    private readonly ConcurrentDictionary<(string WorkflowId, string AgentId), ActiveAgent> _agents = new();

    public int Count => _agents.Count;

    public IReadOnlyList<ActiveAgent> Snapshot() => _agents.Values.OrderBy(a => a.CreatedAt).ToList();

    public void Add(ActiveAgent agent) => _agents[(agent.WorkflowId, agent.AgentId)] = agent;

    public void Remove(string workflowId, string agentId) => _agents.TryRemove((workflowId, agentId), out _);
}

/// <summary>An agent at work; <paramref name="Owner"/> is its workflow's tenant, so listings stay within a tenant.</summary>
internal sealed record ActiveAgent(string WorkflowId, string AgentId, string AgentType, double SpawnTime, DateTimeOffset CreatedAt, string Task, string Owner);
