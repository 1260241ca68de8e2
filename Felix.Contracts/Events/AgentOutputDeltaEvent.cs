using MessagePack;

namespace Felix.Contracts.Events;

/// <summary><c>agent_output_delta</c>: streamed output text; an agent's deltas concatenate to its <c>agent_output</c> content.</summary>
[MessagePackObject]
public sealed class AgentOutputDeltaEvent() : WorkflowEvent(EventTypes.AgentOutputDelta)
{
    /// <summary>The agent's id.</summary>
    [Key("agentId")]
    public string AgentId { get; set; } = "";

    /// <summary>The text that arrived.</summary>
    [Key("delta")]
    public string Delta { get; set; } = "";

    /// <summary>Running index of this delta within the agent's output, from 0.</summary>
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
