using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Approvals;

using Felix.Server.Agents;

namespace Felix.Server.Workflows;

/// <summary>The helix's approval gates: the request for an agent's output, and acting on a decision.</summary>
internal sealed partial class HelixWorkflow
{
    private static GateRequest AgentGate(AgentResult output, RunCheckpoint checkpoint)
    {
        var round = checkpoint.ApprovalRounds[output.AgentId] = checkpoint.ApprovalRounds.GetValueOrDefault(output.AgentId) + 1;
        return new GateRequest($"apr_{output.AgentId}_{round}", ApprovalDecisions.AgentOutputKind, output.AgentId, output.Content, output.Confidence);
    }

    /// <summary>Acts on a decision the run just learned; returns the agent to run again for a revision.</summary>
    private static string? Apply(ApprovalRecord decision, List<AgentResult> outputs, RunCheckpoint checkpoint)
    {
        switch (decision.Decision)
        {
            case ApprovalDecisions.Reject:
                throw new ApprovalRejectedException(decision.Id, decision.DecidedBy ?? "", decision.Comment);
            case ApprovalDecisions.Revise:
                var step = decision.AgentId ?? RunCheckpoint.SynthesisStep;
                (checkpoint.Remarks.TryGetValue(step, out var remarks) ? remarks : checkpoint.Remarks[step] = []).Add(decision.Comment ?? "");
                if (decision.AgentId is { } agentId)
                {
                    outputs.RemoveAll(o => o.AgentId == agentId);
                    return agentId;
                }

                return null;
            default:
                return null;
        }
    }

    private static Synthesis FromApproval(ApprovalRequestedEvent approved, int agents) => new()
    {
        Content = approved.Content,
        Confidence = approved.Confidence,
        AgentsSynthesized = agents,
        TokenCount = approved.Usage?.CompletionTokens,
    };
}
