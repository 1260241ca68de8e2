using System.Text.Json.Serialization;
using MessagePack;

namespace Felix.Contracts.Events;

/// <summary>
/// The fields every workflow event carries. The MessagePack keys equal the camelCase JSON names, so a client sees the same
/// object under both hub protocols; the raw WebSocket protocol writes the same fields in snake_case.
/// </summary>
/// <remarks>
/// <see cref="Sequence"/>, <see cref="Epoch"/>, <see cref="EventId"/> and <see cref="Timestamp"/> are stamped by the server
/// when it publishes the event and never change afterwards.
/// </remarks>
[MessagePackObject]
public abstract class WorkflowEvent
{
    /// <summary>Creates an event of the given snake_case type.</summary>
    protected WorkflowEvent(string type) => Type = type;

    /// <summary>The snake_case type name, e.g. <c>workflow_complete</c> (see <see cref="EventTypes"/>).</summary>
    /// <remarks>
    /// Written first, then <see cref="WorkflowId"/>, then the event's own fields: the original protocol built each event
    /// as <c>{"type", "workflow_id", **data}</c>, and a client of it may read the type from the start of the frame.
    /// </remarks>
    [Key("type")]
    [JsonPropertyOrder(-2)]
    public string Type { get; }

    /// <summary>The workflow this event belongs to.</summary>
    [Key("workflowId")]
    [JsonPropertyOrder(-1)]
    public string WorkflowId { get; set; } = "";

    /// <summary>Position of the event in its workflow's stream: 1 for the first event, then one more for each.</summary>
    [Key("sequence")]
    public long Sequence { get; set; }

    /// <summary>
    /// Identifies the stream the sequence belongs to. It changes when the workflow's history is lost or truncated, so a
    /// client never resumes into a different stream.
    /// </summary>
    [Key("epoch")]
    public string Epoch { get; set; } = "";

    /// <summary>Unique id of the event (<c>{epoch}-{sequence}</c>); the raw protocol resumes after it with <c>last_event_id</c>.</summary>
    [Key("eventId")]
    public string EventId { get; set; } = "";

    /// <summary>When the event was published: ISO-8601 UTC ending in <c>Z</c>.</summary>
    [Key("timestamp")]
    public string Timestamp { get; set; } = "";

    /// <summary>Whether this event ends the workflow's stream.</summary>
    [IgnoreMember]
    [JsonIgnore]
    public virtual bool IsTerminal => false;
}
