using MessagePack;

namespace Felix.Contracts.Events;

/// <summary><c>workflow_progress</c>: how far the workflow has come.</summary>
[MessagePackObject]
public sealed class WorkflowProgressEvent() : WorkflowEvent(EventTypes.WorkflowProgress)
{
    /// <summary>Progress in percent, 0 to 100.</summary>
    [Key("percent")]
    public double Percent { get; set; }

    /// <summary>Estimated seconds until the workflow finishes.</summary>
    [Key("etaSeconds")]
    public double EtaSeconds { get; set; }

    /// <summary>What was just reached, e.g. <c>agent_completed</c> or <c>synthesis_started</c>.</summary>
    [Key("milestone")]
    public string Milestone { get; set; } = "";
}
