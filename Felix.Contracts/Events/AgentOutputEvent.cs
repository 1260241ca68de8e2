using MessagePack;

namespace Felix.Contracts.Events;

/// <summary><c>agent_output</c>: one agent's whole result with its confidence.</summary>
[MessagePackObject]
public sealed class AgentOutputEvent() : WorkflowEvent(EventTypes.AgentOutput)
{
    /// <summary>The agent's id.</summary>
    [Key("agentId")]
    public string AgentId { get; set; } = "";

    /// <summary>The agent's role.</summary>
    [Key("agentType")]
    public string AgentType { get; set; } = "";

    /// <summary>The whole output text.</summary>
    [Key("content")]
    public string Content { get; set; } = "";

    /// <summary>The agent's confidence in its output, in [0, 1].</summary>
    [Key("confidence")]
    public double Confidence { get; set; }
}
