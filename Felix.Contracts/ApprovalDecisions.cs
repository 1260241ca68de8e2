namespace Felix.Contracts;

/// <summary>The decisions a person can take on an approval request, as they appear on the wire.</summary>
public static class ApprovalDecisions
{
    /// <summary>The workflow moves on.</summary>
    public const string Approve = "approve";
    /// <summary>The workflow ends <c>cancelled</c>; its final <c>workflow_status</c> says who rejected it and why.</summary>
    public const string Reject = "reject";
    /// <summary>The step runs again with the comment added to its prompt, as a new attempt.</summary>
    public const string Revise = "revise";

    /// <summary>Every decision a person can take.</summary>
    public static readonly IReadOnlyList<string> All = [Approve, Reject, Revise];

    /// <summary>
    /// Not a person's choice: the request was still pending when its workflow ended (cancelled, or failed), so it no longer
    /// stands. Its <c>decided_by</c> is whoever cancelled the workflow, or <c>system</c> for any other end.
    /// </summary>
    public const string Withdrawn = "withdrawn";

    /// <summary>The kind of a request about one agent's output.</summary>
    public const string AgentOutputKind = "agent_output";
    /// <summary>The kind of a request about the synthesis.</summary>
    public const string SynthesisKind = "synthesis";
}
