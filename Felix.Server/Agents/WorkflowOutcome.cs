using Felix.Contracts.Dtos;

namespace Felix.Server.Agents;

internal sealed record WorkflowOutcome(Synthesis Synthesis, WorkflowUsage Usage);

/// <summary>What one model call produced.</summary>
internal sealed record ModelResult(string Text, long PromptTokens, long CompletionTokens, double LatencyMs);
