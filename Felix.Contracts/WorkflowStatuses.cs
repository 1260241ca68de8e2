namespace Felix.Contracts;

/// <summary>The status values of a workflow, as they appear on the wire.</summary>
public static class WorkflowStatuses
{
    /// <summary>Accepted and queued.</summary>
    public const string Pending = "pending";
    /// <summary>Agents are working.</summary>
    public const string Running = "running";
    /// <summary>Waits for a person's decision on an approval request; holds no engine slot meanwhile.</summary>
    public const string AwaitingApproval = "awaiting_approval";
    /// <summary>Finished with a synthesis.</summary>
    public const string Completed = "completed";
    /// <summary>Finished with an error.</summary>
    public const string Failed = "failed";
    /// <summary>Cancelled by a client, or rejected at an approval.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>Every status.</summary>
    public static readonly IReadOnlyList<string> All = [Pending, Running, AwaitingApproval, Completed, Failed, Cancelled];

    /// <summary>Whether a workflow in this status will never change again.</summary>
    public static bool IsTerminal(string status) => status is Completed or Failed or Cancelled;
}
