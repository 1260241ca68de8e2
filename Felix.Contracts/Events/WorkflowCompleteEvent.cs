using Felix.Contracts.Dtos;
using System.Text.Json.Serialization;
using MessagePack;

namespace Felix.Contracts.Events;

/// <summary><c>workflow_complete</c>: the workflow completed with a synthesis. Terminal.</summary>
[MessagePackObject]
public sealed class WorkflowCompleteEvent() : WorkflowEvent(EventTypes.WorkflowComplete)
{
    /// <summary>Always <c>completed</c>.</summary>
    [Key("status")]
    public string Status { get; set; } = WorkflowStatuses.Completed;

    /// <summary>The synthesis of the agents' outputs.</summary>
    [Key("synthesis")]
    public Synthesis Synthesis { get; set; } = new();

    /// <summary>Token usage and model latency of the whole run.</summary>
    [Key("usage")]
    public WorkflowUsage? Usage { get; set; }

    /// <inheritdoc />
    [IgnoreMember]
    [JsonIgnore]
    public override bool IsTerminal => true;
}
