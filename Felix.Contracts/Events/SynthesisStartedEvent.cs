using MessagePack;

namespace Felix.Contracts.Events;

/// <summary><c>synthesis_started</c>: synthesis over the collected agent outputs began.</summary>
[MessagePackObject]
public sealed class SynthesisStartedEvent() : WorkflowEvent(EventTypes.SynthesisStarted)
{
    /// <summary>The number of agent outputs being synthesized.</summary>
    [Key("agentCount")]
    public int AgentCount { get; set; }
}
