using System.Text.Json.Serialization;
using MessagePack;

namespace Felix.Contracts.Events;

/// <summary><c>workflow_error</c>: the workflow failed. Terminal.</summary>
[MessagePackObject]
public sealed class WorkflowErrorEvent() : WorkflowEvent(EventTypes.WorkflowError)
{
    /// <summary>What went wrong, fit to show a user.</summary>
    [Key("error")]
    public string Error { get; set; } = "";

    /// <inheritdoc />
    [IgnoreMember]
    [JsonIgnore]
    public override bool IsTerminal => true;
}
