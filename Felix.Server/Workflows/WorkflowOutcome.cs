using Felix.Contracts.Dtos;

using Felix.Server.Agents;

namespace Felix.Server.Workflows;

internal sealed record WorkflowOutcome(Synthesis Synthesis, WorkflowUsage Usage);
