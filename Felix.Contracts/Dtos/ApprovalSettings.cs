using System.Text.Json;
using System.Text.Json.Serialization;
using MessagePack;

namespace Felix.Contracts.Dtos;

/// <summary>
/// Where a workflow stops for a person's decision (the <c>approval</c> field of <c>POST /api/v1/workflows</c>). Every
/// field is optional; a field left out takes the server's default (<c>Felix:Approvals</c>), which asks for nothing.
/// </summary>
[MessagePackObject]
public sealed class ApprovalSettings
{
    /// <summary>The synthesis waits for approval before the workflow completes with it.</summary>
    [Key("beforeSynthesis")]
    public bool? BeforeSynthesis { get; set; }

    /// <summary>An agent whose confidence is below this (0 to 1) waits for approval of its output.</summary>
    [Key("belowConfidence")]
    public double? BelowConfidence { get; set; }

    /// <summary>Agents of these roles (<c>research</c>, <c>analysis</c>, <c>critic</c>) wait for approval of their output.</summary>
    [Key("agentTypes")]
    public List<string>? AgentTypes { get; set; }

    /// <summary>Every agent waits for approval of its output before the workflow moves on.</summary>
    [Key("everyAgent")]
    public bool? EveryAgent { get; set; }

    /// <summary>How long a request waits for a decision, in seconds (1 to 604,800).</summary>
    [Key("timeoutSeconds")]
    public int? TimeoutSeconds { get; set; }

    /// <summary>The decision taken when nobody decides in time: <c>reject</c> (the default) or <c>approve</c>.</summary>
    [Key("onTimeout")]
    public string? OnTimeout { get; set; }

    /// <summary>
    /// Fields of the JSON object that none of the above name. The server refuses them: a misspelt gate, ignored, would
    /// ask nobody.
    /// </summary>
    [JsonExtensionData]
    [JsonInclude]
    [IgnoreMember]
    internal Dictionary<string, JsonElement>? UnknownFields { get; set; }
}
