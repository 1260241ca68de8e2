using Felix.Contracts.Dtos;
using Felix.Server.Streaming;

namespace Felix.Server.Workflows;

internal static class WorkflowMapping
{
    public static WorkflowResponse ToResponse(this WorkflowRecord workflow) => new()
    {
        WorkflowId = workflow.Id,
        Status = workflow.Status,
        Task = workflow.Task,
        MaxSteps = workflow.MaxSteps,
        ParentWorkflowId = workflow.ParentWorkflowId,
        ThreadId = workflow.ThreadId,
        CreatedAt = Timestamps.Format(workflow.CreatedAt),
        CompletedAt = workflow.CompletedAt is { } completed ? Timestamps.Format(completed) : null,
        AgentsSpawned = workflow.Agents.Select(a => new AgentInfo
        {
            AgentId = a.AgentId,
            AgentType = a.AgentType,
            SpawnTime = a.SpawnTime,
            Confidence = a.Confidence,
            PromptTokens = a.PromptTokens,
            CompletionTokens = a.CompletionTokens,
        }).ToList(),
        Synthesis = workflow.Synthesis,
        PerformanceMetrics = workflow.Usage,
        Error = workflow.Error,
        Attempts = workflow.Attempts,
    };
}
