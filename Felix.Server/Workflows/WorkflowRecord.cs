using System.Collections.Immutable;
using Felix.Contracts.Dtos;
using Felix.Server.Approvals;

namespace Felix.Server.Workflows;

/// <summary>A workflow as the server keeps it. Immutable: changes go through <see cref="IWorkflowStore.UpdateAsync"/>.</summary>
internal sealed record WorkflowRecord
{
    public required string Id { get; init; }
    public required string Task { get; init; }
    public required int MaxSteps { get; init; }
    public string? ParentWorkflowId { get; init; }
    public bool EnableWebSearch { get; init; }
    /// <summary>The tenant that created the workflow.</summary>
    public string Owner { get; init; } = "";
    /// <summary>The AG-UI thread this workflow answers a message of (<c>AgUi/AgUiThreads</c>), if it was started there.</summary>
    public string? ThreadId { get; init; }
    public required string Status { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
    public ImmutableList<AgentRecord> Agents { get; init; } = [];
    public Synthesis? Synthesis { get; init; }
    public WorkflowUsage? Usage { get; init; }
    public string? Error { get; init; }
    /// <summary>Runs started: each resume after an interruption is one more.</summary>
    public int Attempts { get; init; }
    /// <summary>Attempts taken to resume after a storage outage: they do not count towards the attempts limit.</summary>
    public int StorageRetries { get; init; }
    /// <summary>Where the workflow waits for decisions; null when it never does.</summary>
    public ApprovalPolicy? Approval { get; init; }
    /// <summary>Its approval requests, oldest first, with their decisions.</summary>
    public ImmutableList<ApprovalRecord> Approvals { get; init; } = [];
    /// <summary>Attempts started to continue after a decision: like storage retries, they do not count towards the limit.</summary>
    public int ApprovalResumes { get; init; }
    /// <summary>
    /// Attempts a graceful shutdown interrupted when its grace period ran out: the node asked them to stop, so the
    /// resumes after them do not count towards the limit either (the limit is for runs that keep crashing the node).
    /// </summary>
    public int ShutdownInterruptions { get; init; }

    public ApprovalRecord? FindApproval(string approvalId) => Approvals.Find(a => a.Id == approvalId);
}

/// <summary>An agent of a workflow as the server keeps it.</summary>
internal sealed record AgentRecord(
    string AgentId,
    string AgentType,
    double SpawnTime,
    double? Confidence = null,
    long PromptTokens = 0,
    long CompletionTokens = 0);
