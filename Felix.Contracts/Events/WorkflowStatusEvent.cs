using System.Text.Json.Serialization;
using MessagePack;

namespace Felix.Contracts.Events;

/// <summary><c>workflow_status</c>: the workflow changed status. A terminal status (cancelled) ends the stream.</summary>
[MessagePackObject]
public sealed class WorkflowStatusEvent() : WorkflowEvent(EventTypes.WorkflowStatus)
{
    /// <summary>The new status (see <see cref="WorkflowStatuses"/>).</summary>
    [Key("status")]
    public string Status { get; set; } = "";

    /// <summary>The workflow's task; set on the snapshot a raw client receives when it connects.</summary>
    [Key("task")]
    public string? Task { get; set; }

    /// <summary>When the workflow was created; set on the snapshot a raw client receives when it connects.</summary>
    [Key("createdAt")]
    public string? CreatedAt { get; set; }

    /// <summary>Why the workflow reached this status, when a person decided it (a rejection: who and why).</summary>
    [Key("reason")]
    public string? Reason { get; set; }

    /// <inheritdoc />
    [IgnoreMember]
    [JsonIgnore]
    public override bool IsTerminal => Status == WorkflowStatuses.Cancelled;
}
