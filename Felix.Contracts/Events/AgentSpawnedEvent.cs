using MessagePack;

namespace Felix.Contracts.Events;

/// <summary><c>agent_spawned</c>: an agent spawned on the helix.</summary>
[MessagePackObject]
public sealed class AgentSpawnedEvent() : WorkflowEvent(EventTypes.AgentSpawned)
{
    /// <summary>The agent's id, e.g. <c>research_001</c>.</summary>
    [Key("agentId")]
    public string AgentId { get; set; } = "";

    /// <summary>The agent's role: research, analysis or critic.</summary>
    [Key("agentType")]
    public string AgentType { get; set; } = "";

    /// <summary>The agent's position along the helix in [0, 1], 0 at the top.</summary>
    [Key("spawnTime")]
    public double SpawnTime { get; set; }

    /// <summary>The sampling temperature the helix position gives the agent.</summary>
    [Key("temperature")]
    public double Temperature { get; set; }

    /// <summary>The agent's token budget at this helix position.</summary>
    [Key("tokenBudget")]
    public int TokenBudget { get; set; }
}
