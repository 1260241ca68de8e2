using MessagePack;

namespace Felix.Contracts.Events;

/// <summary><c>agent_reasoning_delta</c>: streamed reasoning trace of an agent.</summary>
[MessagePackObject]
public sealed class AgentReasoningDeltaEvent() : WorkflowEvent(EventTypes.AgentReasoningDelta)
{
    /// <summary>The agent's id.</summary>
    [Key("agentId")]
    public string AgentId { get; set; } = "";

    /// <summary>The reasoning text that arrived.</summary>
    [Key("delta")]
    public string Delta { get; set; } = "";

    /// <summary>Running index of this delta within the agent's reasoning, from 0.</summary>
    [Key("index")]
    public int Index { get; set; }
}
