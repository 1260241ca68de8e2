using Felix.Contracts.Events;

namespace Felix.Contracts.Dtos;

/// <summary>A page of a workflow's event history (<c>GET /api/v1/workflows/{id}/events</c>).</summary>
public sealed class EventPage
{
    /// <summary>The workflow.</summary>
    public string WorkflowId { get; set; } = "";

    /// <summary>The current epoch of the workflow's stream.</summary>
    public string Epoch { get; set; } = "";

    /// <summary>The events, in order.</summary>
    public IReadOnlyList<WorkflowEvent> Events { get; set; } = [];

    /// <summary>The sequence to pass as <c>after</c> for the next page.</summary>
    public long NextAfter { get; set; }

    /// <summary>Whether more events follow this page.</summary>
    public bool HasMore { get; set; }

    /// <summary>True when the asked position could not be honoured and the page starts at the oldest kept event.</summary>
    public bool ReplayedFromStart { get; set; }
}
