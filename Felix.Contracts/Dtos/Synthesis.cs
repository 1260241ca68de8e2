using MessagePack;

namespace Felix.Contracts.Dtos;

/// <summary>The combined answer of a workflow.</summary>
[MessagePackObject]
public sealed class Synthesis
{
    /// <summary>The synthesized text.</summary>
    [Key("content")]
    public string Content { get; set; } = "";

    /// <summary>Confidence in the synthesis, in [0, 1].</summary>
    [Key("confidence")]
    public double Confidence { get; set; }

    /// <summary>The number of agent outputs the synthesis combined.</summary>
    [Key("agentsSynthesized")]
    public int AgentsSynthesized { get; set; }

    /// <summary>Tokens the synthesis call wrote.</summary>
    [Key("tokenCount")]
    public long? TokenCount { get; set; }
}
