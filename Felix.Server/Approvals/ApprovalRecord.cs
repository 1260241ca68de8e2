namespace Felix.Server.Approvals;

/// <summary>
/// One approval request as the workflow's record keeps it. The record, not the event history, decides: a decision is
/// a conditional update of the record (exactly one wins), and the run that continues announces it in the stream.
/// </summary>
internal sealed record ApprovalRecord
{
    public required string Id { get; init; }
    public required string Kind { get; init; }
    public string? AgentId { get; init; }
    public string Content { get; init; } = "";
    public double Confidence { get; init; }
    public required DateTimeOffset RequestedAt { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    public required string OnTimeout { get; init; }
    public string? Decision { get; init; }
    public string? Comment { get; init; }
    public string? DecidedBy { get; init; }
    public DateTimeOffset? DecidedAt { get; init; }

    public bool IsPending => Decision is null;
}
