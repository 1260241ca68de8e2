using MessagePack;

namespace Felix.Contracts.Dtos;

/// <summary>A workflow as REST returns it, and the snapshot a hub subscription starts from.</summary>
[MessagePackObject]
public sealed class WorkflowResponse
{
    /// <summary>The workflow's id: <c>wf_</c> followed by hex.</summary>
    [Key("workflowId")]
    public string WorkflowId { get; set; } = "";

    /// <summary>Current status (see <see cref="WorkflowStatuses"/>).</summary>
    [Key("status")]
    public string Status { get; set; } = "";

    /// <summary>The task.</summary>
    [Key("task")]
    public string Task { get; set; } = "";

    /// <summary>The most agents the workflow may spawn.</summary>
    [Key("maxSteps")]
    public int MaxSteps { get; set; }

    /// <summary>The workflow this one continues, if any.</summary>
    [Key("parentWorkflowId")]
    public string? ParentWorkflowId { get; set; }

    /// <summary>The AG-UI thread that started it, when an AG-UI run did (see docs/agui.md).</summary>
    [Key("threadId")]
    public string? ThreadId { get; set; }

    /// <summary>When it was created: ISO-8601 UTC.</summary>
    [Key("createdAt")]
    public string CreatedAt { get; set; } = "";

    /// <summary>When it finished, if it has.</summary>
    [Key("completedAt")]
    public string? CompletedAt { get; set; }

    /// <summary>The agents spawned so far.</summary>
    [Key("agentsSpawned")]
    public IReadOnlyList<AgentInfo> AgentsSpawned { get; set; } = [];

    /// <summary>The synthesis, once completed.</summary>
    [Key("synthesis")]
    public Synthesis? Synthesis { get; set; }

    /// <summary>Usage and timings of the run so far.</summary>
    [Key("performanceMetrics")]
    public WorkflowUsage? PerformanceMetrics { get; set; }

    /// <summary>What went wrong, if it failed.</summary>
    [Key("error")]
    public string? Error { get; set; }

    /// <summary>
    /// How many times a run of this workflow started: 1 for a run that was never interrupted, more when the server
    /// stopped mid-run and the run resumed from its history. 0 while it waits for its first run.
    /// </summary>
    [Key("attempts")]
    public int Attempts { get; set; }
}
