using MessagePack;

namespace Felix.Contracts.Dtos;

/// <summary>
/// What <see cref="IWorkflowHub.StreamEventsWithOptions"/> streams: where to start and which events to send. Every filter is
/// optional; an absent or empty one lets everything through. The filters combine: an event is sent when it passes all of them.
/// </summary>
[MessagePackObject]
public sealed class EventStreamOptions
{
    /// <summary>
    /// Send the events after this sequence; null or 0 for the whole history. A sequence past the end of the stream is
    /// not honoured: the stream starts at the oldest kept event, as <see cref="IWorkflowHub.Subscribe"/> does.
    /// </summary>
    [Key("afterSequence")]
    public long? AfterSequence { get; set; }

    /// <summary>
    /// The epoch <see cref="AfterSequence"/> belongs to (the <c>epoch</c> of the last event the client has). When the
    /// stream's epoch differs, its history was lost or reset: the stream starts at the oldest kept event instead, and the
    /// events' own <c>epoch</c> tells the client to rebuild rather than append. Null to trust the sequence alone.
    /// </summary>
    [Key("epoch")]
    public string? Epoch { get; set; }

    /// <summary>snake_case event types to send (see <see cref="EventTypes"/>), or <c>all</c>; null or empty for every type.</summary>
    [Key("types")]
    public IReadOnlyList<string>? Types { get; set; }

    /// <summary>
    /// Agents whose events to send, e.g. <c>research_001</c>. Events that belong to no agent (status, synthesis, the terminal
    /// event) always pass this filter.
    /// </summary>
    [Key("agentIds")]
    public IReadOnlyList<string>? AgentIds { get; set; }

    /// <summary>
    /// Threshold in [0, 1]: events that carry a confidence below it (<c>agent_output</c>) are not sent; events without one are.
    /// </summary>
    [Key("minConfidence")]
    public double? MinConfidence { get; set; }
}
