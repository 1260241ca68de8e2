using Felix.Contracts.Dtos;

using Felix.Server.Agents;

namespace Felix.Server.Workflows;

internal sealed record WorkflowOutcome(Synthesis Synthesis, WorkflowUsage Usage);

/// <summary>What one model call produced.</summary>
internal sealed record ModelResult(string Text, long PromptTokens, long CompletionTokens, double LatencyMs);
