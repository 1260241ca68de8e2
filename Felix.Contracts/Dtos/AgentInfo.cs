using MessagePack;

namespace Felix.Contracts.Dtos;

/// <summary>An agent of a workflow.</summary>
[MessagePackObject]
public sealed class AgentInfo
{
    /// <summary>The agent's id, e.g. <c>research_001</c>.</summary>
    [Key("agentId")]
    public string AgentId { get; set; } = "";

    /// <summary>The agent's role.</summary>
    [Key("agentType")]
    public string AgentType { get; set; } = "";

    /// <summary>Position along the helix in [0, 1].</summary>
    [Key("spawnTime")]
    public double SpawnTime { get; set; }

    /// <summary>The agent's confidence in its output, once it has one.</summary>
    [Key("confidence")]
    public double? Confidence { get; set; }

    /// <summary>Tokens sent to the model for this agent.</summary>
    [Key("promptTokens")]
    public long PromptTokens { get; set; }

    /// <summary>Tokens the model wrote for this agent.</summary>
    [Key("completionTokens")]
    public long CompletionTokens { get; set; }
}
