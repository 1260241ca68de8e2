using Felix.Contracts.Events;
using MessagePack;

namespace Felix.Contracts.Dtos;

/// <summary>What <see cref="IWorkflowHub.Subscribe"/> returns: the snapshot and the history the client missed.</summary>
[MessagePackObject]
public sealed class WorkflowSubscription
{
    /// <summary>The workflow as it is now.</summary>
    [Key("workflow")]
    public WorkflowResponse Workflow { get; set; } = new();

    /// <summary>The current epoch of the workflow's stream.</summary>
    [Key("epoch")]
    public string Epoch { get; set; } = "";

    /// <summary>The events after the asked position, in order.</summary>
    [Key("events")]
    public IReadOnlyList<WorkflowEvent> Events { get; set; } = [];

    /// <summary>
    /// True when the asked position could not be honoured (unknown epoch, or older than the retained history) and
    /// <see cref="Events"/> is instead all the history that is kept.
    /// </summary>
    [Key("replayedFromStart")]
    public bool ReplayedFromStart { get; set; }
}
