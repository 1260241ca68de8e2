namespace Felix.Contracts.Dtos;

/// <summary>A page of workflows, newest first.</summary>
public sealed class WorkflowListResponse
{
    /// <summary>The workflows on this page.</summary>
    public IReadOnlyList<WorkflowResponse> Workflows { get; set; } = [];

    /// <summary>How many workflows match in all.</summary>
    public int Total { get; set; }

    /// <summary>The page number, from 1.</summary>
    public int Page { get; set; }

    /// <summary>The page size asked for.</summary>
    public int PageSize { get; set; }
}
