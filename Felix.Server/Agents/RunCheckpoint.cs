using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Streaming;

namespace Felix.Server.Agents;

/// <summary>
/// What a workflow's own history says its runs have done: the checkpoint a resumed run continues from. An agent's
/// <c>agent_output</c> commits its step; an agent spawned without one was in flight and runs again under the same id.
/// Nothing else is stored for it: the event log is the only record of progress.
/// </summary>
internal sealed class RunCheckpoint
{
    private const int PageSize = 500;

    /// <summary>Committed agent outputs, in the order the agents ran.</summary>
    public List<AgentResult> Outputs { get; } = [];

    /// <summary>Agents spawned per role, the in-flight one included: the next agent of a role takes the next number.</summary>
    public Dictionary<string, int> SpawnedPerRole { get; } = new(StringComparer.Ordinal);

    /// <summary>The agent that was spawned but had not committed its output, if any.</summary>
    public string? InFlightAgentId { get; private set; }

    public bool SynthesisStarted { get; private set; }

    /// <summary>An approval asked for and not yet resolved in the history: the run stopped (or parked) at its gate.</summary>
    public ApprovalRequestedEvent? OpenApproval { get; private set; }

    /// <summary>A rejection in the history that the run did not get to act on.</summary>
    public ApprovalResolvedEvent? Rejection { get; private set; }

    /// <summary>The synthesis a person approved, when the run stopped before completing with it.</summary>
    public ApprovalRequestedEvent? ApprovedSynthesis { get; private set; }

    /// <summary>
    /// The last committed agent output when no approval was asked for it yet: its gate is still to pass (the run
    /// stopped between the output and the request).
    /// </summary>
    public AgentResult? UngatedOutput { get; private set; }

    /// <summary>Revision remarks per step (an agent's id, or <see cref="SynthesisStep"/>), oldest first.</summary>
    public Dictionary<string, List<string>> Remarks { get; } = new(StringComparer.Ordinal);

    /// <summary>Approval requests asked per step, so the next one of a step gets the next id.</summary>
    public Dictionary<string, int> ApprovalRounds { get; } = new(StringComparer.Ordinal);

    /// <summary>The highest attempt seen in each agent's deltas: a revision streams as the next one.</summary>
    public Dictionary<string, int> LastAttempt { get; } = new(StringComparer.Ordinal);

    /// <summary>The step key of the synthesis in <see cref="Remarks"/> and <see cref="ApprovalRounds"/>.</summary>
    public const string SynthesisStep = "synthesis";

    private readonly Dictionary<string, ApprovalRequestedEvent> _requested = new(StringComparer.Ordinal);

    /// <summary>Usage of the committed steps (an abandoned attempt's calls are not in the history).</summary>
    public WorkflowUsage Usage { get; } = new();

    public static async Task<RunCheckpoint> ReadAsync(IEventLog log, string workflowId, CancellationToken cancellationToken)
    {
        var checkpoint = new RunCheckpoint();
        await foreach (var evt in log.ReadRangeAsync(workflowId, 0, long.MaxValue, PageSize, cancellationToken))
        {
            checkpoint.Apply(evt);
        }

        return checkpoint;
    }

    private void Apply(WorkflowEvent evt)
    {
        switch (evt)
        {
            case AgentSpawnedEvent spawned:
                SpawnedPerRole[spawned.AgentType] = SpawnedPerRole.GetValueOrDefault(spawned.AgentType) + 1;
                InFlightAgentId = spawned.AgentId;
                UngatedOutput = null;
                break;
            case AgentOutputEvent output:
                // A revised agent's output replaces its earlier one.
                Outputs.RemoveAll(o => o.AgentId == output.AgentId);
                UngatedOutput = new AgentResult(output.AgentId, output.AgentType, output.Content, output.Confidence);
                Outputs.Add(UngatedOutput);
                if (InFlightAgentId == output.AgentId)
                {
                    InFlightAgentId = null;
                }

                break;
            case AgentOutputDeltaEvent delta:
                LastAttempt[delta.AgentId] = Math.Max(LastAttempt.GetValueOrDefault(delta.AgentId, 1), delta.Attempt ?? 1);
                break;
            case ApprovalRequestedEvent requested:
                _requested[requested.ApprovalId] = requested;
                var step = requested.AgentId ?? SynthesisStep;
                ApprovalRounds[step] = ApprovalRounds.GetValueOrDefault(step) + 1;
                OpenApproval = requested;
                UngatedOutput = null;
                break;
            case ApprovalResolvedEvent resolved when _requested.TryGetValue(resolved.ApprovalId, out var request):
                Resolve(request, resolved);
                break;
            case AgentCompletedEvent completed:
                Usage.LlmCalls++;
                Usage.PromptTokens += completed.PromptTokens;
                Usage.CompletionTokens += completed.CompletionTokens;
                Usage.TotalTokens = Usage.PromptTokens + Usage.CompletionTokens;
                Usage.LlmLatencyMs = Math.Round(Usage.LlmLatencyMs + completed.LlmLatencyMs, 1);
                break;
            case SynthesisStartedEvent:
                SynthesisStarted = true;
                UngatedOutput = null;
                break;
        }
    }

    private void Resolve(ApprovalRequestedEvent request, ApprovalResolvedEvent resolved)
    {
        if (OpenApproval?.ApprovalId == request.ApprovalId)
        {
            OpenApproval = null;
        }

        var step = request.AgentId ?? SynthesisStep;
        switch (resolved.Decision)
        {
            case ApprovalDecisions.Reject:
                Rejection = resolved;
                break;
            case ApprovalDecisions.Revise:
                (Remarks.TryGetValue(step, out var remarks) ? remarks : Remarks[step] = []).Add(resolved.Comment ?? "");
                if (request.AgentId is { } agentId)
                {
                    // The agent runs again under its id: its step is in flight until its new output.
                    Outputs.RemoveAll(o => o.AgentId == agentId);
                    InFlightAgentId = agentId;
                }

                break;
            case ApprovalDecisions.Approve when request.AgentId is null:
                ApprovedSynthesis = request;
                break;
        }
    }
}

/// <summary>One agent's committed output.</summary>
internal sealed record AgentResult(string AgentId, string AgentType, string Content, double Confidence);
