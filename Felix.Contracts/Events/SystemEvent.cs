using MessagePack;

namespace Felix.Contracts.Events;

/// <summary>
/// A system-wide event: <c>workflow_created</c>, <c>workflow_status</c>, <c>agent_registered</c>,
/// <c>agent_deregistered</c>, <c>approval_requested</c>, <c>approval_resolved</c>, <c>system_status_change</c>.
/// </summary>
[MessagePackObject]
public sealed class SystemEvent
{
    /// <summary><c>workflow_created</c>: a workflow was accepted.</summary>
    public const string WorkflowCreated = "workflow_created";
    /// <summary><c>workflow_status</c>: a workflow changed status.</summary>
    public const string WorkflowStatusChanged = "workflow_status";
    /// <summary><c>agent_registered</c>: an agent spawned in some workflow.</summary>
    public const string AgentRegistered = "agent_registered";
    /// <summary><c>agent_deregistered</c>: an agent's step ended, committed or not; it is no longer active.</summary>
    public const string AgentDeregistered = "agent_deregistered";
    /// <summary><c>approval_requested</c>: a workflow waits for a person's decision.</summary>
    public const string ApprovalRequested = "approval_requested";
    /// <summary><c>approval_resolved</c>: an approval request was decided.</summary>
    public const string ApprovalResolved = "approval_resolved";
    /// <summary><c>system_status_change</c>: a node's engine started (<c>running</c>) or began to shut down (<c>stopping</c>).</summary>
    public const string SystemStatusChange = "system_status_change";

    /// <summary>The types the original server documented for its system stream: what a raw system stream sends by default.</summary>
    public static readonly IReadOnlySet<string> Documented = new HashSet<string>(StringComparer.Ordinal)
    {
        AgentRegistered, AgentDeregistered, ApprovalRequested, SystemStatusChange,
    };

    /// <summary>Every system event type.</summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        WorkflowCreated, WorkflowStatusChanged, AgentRegistered, AgentDeregistered, ApprovalRequested, ApprovalResolved, SystemStatusChange,
    };

    /// <summary><c>status</c> of a <c>system_status_change</c>: the node's engine takes work.</summary>
    public const string Running = "running";
    /// <summary><c>status</c> of a <c>system_status_change</c>: the node drains and will stop; reconnect to another node or later.</summary>
    public const string Stopping = "stopping";

    /// <summary>The snake_case type name.</summary>
    [Key("type")]
    public string Type { get; set; } = "";

    /// <summary>The workflow concerned, if any.</summary>
    [Key("workflowId")]
    public string? WorkflowId { get; set; }

    /// <summary>The new status, if the event is about a status.</summary>
    [Key("status")]
    public string? Status { get; set; }

    /// <summary>The agent concerned, if any.</summary>
    [Key("agentId")]
    public string? AgentId { get; set; }

    /// <summary>The agent's role, if an agent is concerned.</summary>
    [Key("agentType")]
    public string? AgentType { get; set; }

    /// <summary>The approval request concerned, if any.</summary>
    [Key("approvalId")]
    public string? ApprovalId { get; set; }

    /// <summary>A short human-readable description.</summary>
    [Key("message")]
    public string? Message { get; set; }

    /// <summary>When it happened: ISO-8601 UTC ending in <c>Z</c>.</summary>
    [Key("timestamp")]
    public string Timestamp { get; set; } = "";
}
