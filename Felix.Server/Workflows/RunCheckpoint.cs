using System.Text;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Streaming;

using Felix.Server.Agents;

namespace Felix.Server.Workflows;

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

    /// <summary>
    /// Usage the model reported: the committed steps and every synthesis written. An abandoned attempt's usage was never
    /// reported; it is in <see cref="Unreported"/>, to be estimated.
    /// </summary>
    public WorkflowUsage Usage { get; } = new();

    /// <summary>
    /// Agent attempts whose usage the history lacks, in the order they ended: those that streamed text and stopped before
    /// committing their output (the process died, or the node lost the run), and a step whose process stopped between its
    /// <c>agent_output</c> and its <c>agent_completed</c>. The history keeps what they wrote, which is all that is known of
    /// their cost.
    /// </summary>
    public List<UnreportedStep> Unreported { get; } = [];

    /// <summary>The step whose <c>agent_output</c> was the last event: its <c>agent_completed</c> comes next, or never.</summary>
    private (string AgentId, StreamingAttempt Attempt)? _awaitingUsage;

    private readonly Dictionary<string, string> _agentTypes = new(StringComparer.Ordinal);

    /// <summary>Per agent, the attempt that is streaming and has not committed yet.</summary>
    private readonly Dictionary<string, StreamingAttempt> _streaming = new(StringComparer.Ordinal);

    public static async Task<RunCheckpoint> ReadAsync(IEventLog log, string workflowId, CancellationToken cancellationToken)
    {
        var checkpoint = new RunCheckpoint();
        await foreach (var evt in log.ReadRangeAsync(workflowId, 0, long.MaxValue, PageSize, cancellationToken))
        {
            checkpoint.Apply(evt);
        }

        // The history ends here: an attempt still streaming is the one this run abandons by running its step again.
        checkpoint.SettleAwaitingUsage(next: null);
        foreach (var agentId in checkpoint._streaming.Keys.ToList())
        {
            checkpoint.Abandon(agentId);
        }

        return checkpoint;
    }

    private void Apply(WorkflowEvent evt)
    {
        SettleAwaitingUsage(evt);
        switch (evt)
        {
            case AgentSpawnedEvent spawned:
                _agentTypes[spawned.AgentId] = spawned.AgentType;
                SpawnedPerRole[spawned.AgentType] = SpawnedPerRole.GetValueOrDefault(spawned.AgentType) + 1;
                InFlightAgentId = spawned.AgentId;
                UngatedOutput = null;
                break;
            case AgentOutputEvent output:
                // A revised agent's output replaces its earlier one.
                Outputs.RemoveAll(o => o.AgentId == output.AgentId);
                var committed = _streaming.Remove(output.AgentId, out var streamed) ? streamed : Start(output.AgentId, LastAttempt.GetValueOrDefault(output.AgentId, 1));
                committed.Text.Clear().Append(output.Content);
                _awaitingUsage = (output.AgentId, committed);
                UngatedOutput = new AgentResult(output.AgentId, output.AgentType, output.Content, output.Confidence);
                Outputs.Add(UngatedOutput);
                if (InFlightAgentId == output.AgentId)
                {
                    InFlightAgentId = null;
                }

                break;
            case AgentOutputDeltaEvent delta:
                LastAttempt[delta.AgentId] = Math.Max(LastAttempt.GetValueOrDefault(delta.AgentId, 1), delta.Attempt ?? 1);
                Streamed(delta.AgentId, delta.Attempt ?? 1).Text.Append(delta.Delta);
                break;
            case AgentReasoningDeltaEvent reasoning:
                Streamed(reasoning.AgentId, reasoning.Attempt ?? 1).Reasoning.Append(reasoning.Delta);
                break;
            case ApprovalRequestedEvent requested:
                _requested[requested.ApprovalId] = requested;
                if (requested.Usage is { } synthesisUsage)
                {
                    Add(synthesisUsage.LlmCalls, synthesisUsage.PromptTokens, synthesisUsage.CompletionTokens, synthesisUsage.LlmLatencyMs);
                }

                var step = requested.AgentId ?? SynthesisStep;
                ApprovalRounds[step] = ApprovalRounds.GetValueOrDefault(step) + 1;
                OpenApproval = requested;
                UngatedOutput = null;
                break;
            case ApprovalResolvedEvent resolved when _requested.TryGetValue(resolved.ApprovalId, out var request):
                Resolve(request, resolved);
                break;
            case AgentCompletedEvent completed:
                Add(1, completed.PromptTokens, completed.CompletionTokens, completed.LlmLatencyMs);
                break;
            case SynthesisStartedEvent:
                SynthesisStarted = true;
                UngatedOutput = null;
                break;
        }
    }

    private void Add(int calls, long promptTokens, long completionTokens, double latencyMs)
    {
        Usage.LlmCalls += calls;
        Usage.PromptTokens += promptTokens;
        Usage.CompletionTokens += completionTokens;
        Usage.TotalTokens = Usage.PromptTokens + Usage.CompletionTokens;
        Usage.LlmLatencyMs = Math.Round(Usage.LlmLatencyMs + latencyMs, 1);
    }

    /// <summary>
    /// The attempt a delta belongs to. A delta of a newer attempt means the one before it was abandoned (its step ran
    /// again); the prompt an attempt was sent is fixed when it starts: the outputs committed before it, and its remarks.
    /// </summary>
    private StreamingAttempt Streamed(string agentId, int attempt)
    {
        if (_streaming.TryGetValue(agentId, out var current))
        {
            if (current.Attempt == attempt)
            {
                return current;
            }

            Abandon(agentId);
        }

        return _streaming[agentId] = Start(agentId, attempt);
    }

    private StreamingAttempt Start(string agentId, int attempt) =>
        new(attempt, [.. Outputs.Where(o => o.AgentId != agentId)], [.. Remarks.GetValueOrDefault(agentId) ?? []]);

    private void Abandon(string agentId)
    {
        if (_streaming.Remove(agentId, out var attempt))
        {
            Unreported.Add(Step(agentId, attempt, committed: false));
        }
    }

    /// <summary>
    /// A step's <c>agent_completed</c> is the event right after its <c>agent_output</c> (the run writes nothing between):
    /// anything else, or the end of the history, means the process stopped before the usage was recorded.
    /// </summary>
    private void SettleAwaitingUsage(WorkflowEvent? next)
    {
        if (_awaitingUsage is { } awaiting && !(next is AgentCompletedEvent completed && completed.AgentId == awaiting.AgentId))
        {
            Unreported.Add(Step(awaiting.AgentId, awaiting.Attempt, committed: true));
        }

        _awaitingUsage = null;
    }

    private UnreportedStep Step(string agentId, StreamingAttempt attempt, bool committed) => new(
        agentId, _agentTypes.GetValueOrDefault(agentId, ""), attempt.Attempt, attempt.Earlier, attempt.Remarks,
        attempt.Text.ToString(), attempt.Reasoning.ToString(), committed);

    private sealed record StreamingAttempt(int Attempt, IReadOnlyList<AgentResult> Earlier, IReadOnlyList<string> Remarks)
    {
        public StringBuilder Text { get; } = new();

        public StringBuilder Reasoning { get; } = new();
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

/// <summary>
/// An agent attempt whose usage the history lacks: what it was asked (enough to rebuild its prompt) and what it wrote.
/// <paramref name="Committed"/>: its output was committed (the process stopped just before its usage was recorded); otherwise
/// the attempt was abandoned mid-step and its step ran again.
/// </summary>
internal sealed record UnreportedStep(
    string AgentId, string AgentType, int Attempt, IReadOnlyList<AgentResult> Earlier, IReadOnlyList<string> Remarks,
    string Text, string Reasoning, bool Committed);
