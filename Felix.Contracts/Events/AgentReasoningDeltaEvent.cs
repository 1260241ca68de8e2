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

    /// <summary>
    /// Set (2, 3, ...) when the agent's step runs again after the server stopped mid-step: the text of its earlier
    /// attempt was abandoned, so a client drops what it showed of this agent and starts over from these deltas. Absent on
    /// a first attempt.
    /// </summary>
    [Key("attempt")]
    public int? Attempt { get; set; }
}
