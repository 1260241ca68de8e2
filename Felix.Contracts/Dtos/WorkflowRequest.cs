namespace Felix.Contracts.Dtos;

/// <summary>The body of <c>POST /api/v1/workflows</c>.</summary>
public sealed class WorkflowRequest
{
    /// <summary>What the agents should work on: 1 to 10,000 characters.</summary>
    public string? Task { get; set; }

    /// <summary>The most agents to spawn before synthesis: 1 to 50; the server's default when absent.</summary>
    public int? MaxSteps { get; set; }

    /// <summary>A previous workflow this one continues.</summary>
    public string? ParentWorkflowId { get; set; }

    /// <summary>Whether agents may search the web (accepted for compatibility; Felix Server has no web search).</summary>
    public bool EnableWebSearch { get; set; } = true;

    /// <summary>Where the workflow waits for a person's decision; the server's default (none, unless configured) when absent.</summary>
    public ApprovalSettings? Approval { get; set; }
}
