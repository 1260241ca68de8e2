using Felix.Contracts;
using Felix.Contracts.Dtos;

namespace Felix.Server.Workflows;

/// <summary>The bodies the OpenAPI document shows for the workflows API: real shapes, one workflow followed through.</summary>
internal static class WorkflowsApiExamples
{
    private const string Id = "wf_3f2a9c0d1e2b4a6f";
    private const string Task = "Explain quantum computing";

    public static readonly WorkflowRequest Request = new() { Task = Task, MaxSteps = 5 };

    public static readonly WorkflowResponse Pending = new()
    {
        WorkflowId = Id,
        Status = WorkflowStatuses.Pending,
        Task = Task,
        MaxSteps = 5,
        CreatedAt = "2026-12-05T09:00:00.000Z",
    };

    public static readonly WorkflowResponse Completed = new()
    {
        WorkflowId = Id,
        Status = WorkflowStatuses.Completed,
        Task = Task,
        MaxSteps = 5,
        CreatedAt = "2026-12-05T09:00:00.000Z",
        CompletedAt = "2026-12-05T09:00:07.412Z",
        AgentsSpawned =
        [
            new AgentInfo { AgentId = "research_001", AgentType = "research", SpawnTime = 0, Confidence = 0.81, PromptTokens = 212, CompletionTokens = 640 },
            new AgentInfo { AgentId = "analysis_002", AgentType = "analysis", SpawnTime = 0.4, Confidence = 0.78, PromptTokens = 230, CompletionTokens = 590 },
            new AgentInfo { AgentId = "critic_003", AgentType = "critic", SpawnTime = 0.8, Confidence = 0.74, PromptTokens = 241, CompletionTokens = 402 },
        ],
        Synthesis = new Synthesis
        {
            Content = "Quantum computers use qubits, which hold superpositions of 0 and 1 ...",
            Confidence = 0.85,
            AgentsSynthesized = 3,
            TokenCount = 512,
        },
        PerformanceMetrics = new WorkflowUsage { LlmCalls = 4, PromptTokens = 905, CompletionTokens = 2144, TotalTokens = 3049 },
    };

    public static readonly WorkflowListResponse List = new() { Workflows = [Completed], Total = 1, Page = 1, PageSize = WorkflowsApi.DefaultPageSize };
}
