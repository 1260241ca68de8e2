using MessagePack;

namespace Felix.Contracts.Dtos;

/// <summary>An approval request of a workflow and, once decided, its resolution.</summary>
[MessagePackObject]
public sealed class ApprovalInfo
{
    /// <summary>The request's id, unique within the workflow.</summary>
    [Key("approvalId")]
    public string ApprovalId { get; set; } = "";

    /// <summary>The workflow that waits.</summary>
    [Key("workflowId")]
    public string WorkflowId { get; set; } = "";

    /// <summary><c>agent_output</c> or <c>synthesis</c>.</summary>
    [Key("kind")]
    public string Kind { get; set; } = "";

    /// <summary>The agent whose output waits; null for the synthesis.</summary>
    [Key("agentId")]
    public string? AgentId { get; set; }

    /// <summary>What is to be approved.</summary>
    [Key("content")]
    public string Content { get; set; } = "";

    /// <summary>The confidence stated with the content.</summary>
    [Key("confidence")]
    public double Confidence { get; set; }

    /// <summary><c>pending</c> or <c>resolved</c>.</summary>
    [Key("status")]
    public string Status { get; set; } = "";

    /// <summary>When it was asked: ISO-8601 UTC.</summary>
    [Key("requestedAt")]
    public string RequestedAt { get; set; } = "";

    /// <summary>When the default outcome is taken: ISO-8601 UTC.</summary>
    [Key("expiresAt")]
    public string ExpiresAt { get; set; } = "";

    /// <summary>The decision that won (<c>approve</c>, <c>reject</c>, <c>revise</c>, or <c>withdrawn</c> when the workflow ended first); null while pending.</summary>
    [Key("decision")]
    public string? Decision { get; set; }

    /// <summary>The decider's remark.</summary>
    [Key("comment")]
    public string? Comment { get; set; }

    /// <summary>Who decided, or <c>deadline</c>; for <c>withdrawn</c>, who cancelled the workflow, or <c>system</c>.</summary>
    [Key("decidedBy")]
    public string? DecidedBy { get; set; }

    /// <summary>When it was decided: ISO-8601 UTC.</summary>
    [Key("decidedAt")]
    public string? DecidedAt { get; set; }

    /// <summary>The status of a request that waits for a decision.</summary>
    public const string Pending = "pending";

    /// <summary>The status of a decided request.</summary>
    public const string Resolved = "resolved";
}
