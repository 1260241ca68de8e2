using MessagePack;

namespace Felix.Contracts.Dtos;

/// <summary>
/// What <see cref="IWorkflowClient.WorkflowLost"/> carries: the workflow's record and history were lost with storage (a
/// Redis without persistence that came back empty), so no further event of it will come and it cannot be subscribed to
/// again. It is the last message a group member gets for the workflow.
/// </summary>
[MessagePackObject]
public sealed class WorkflowLostNotice
{
    /// <summary>The workflow that was lost.</summary>
    [Key("workflowId")]
    public string WorkflowId { get; set; } = "";

    /// <summary>The epoch of the stream that was lost (the one the member's events carried).</summary>
    [Key("epoch")]
    public string Epoch { get; set; } = "";

    /// <summary>Why, in words a person can read.</summary>
    [Key("message")]
    public string Message { get; set; } = "";
}
