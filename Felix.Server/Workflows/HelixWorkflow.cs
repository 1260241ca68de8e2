using System.Runtime.CompilerServices;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Approvals;
using Felix.Server.Observability;
using Felix.Server.Streaming;
using Microsoft.Extensions.Options;

using Felix.Server.Agents;

namespace Felix.Server.Workflows;

/// <summary>
/// The Felix workflow: agents spawn down the helix (research first, critics last), each writes its part through the
/// model while the text streams out, and a synthesis call combines their outputs. Synthesis starts after
/// <see cref="WorkflowRecord.MaxSteps"/> agents, or earlier once enough agents agree with enough confidence.
/// </summary>
internal sealed partial class HelixWorkflow(
    AgentModel model,
    AgentRegistry registry,
    HelixGeometry geometry,
    AgentSteps steps,
    IEventLog log,
    EventPublisher publisher,
    TimeProvider time,
    IOptions<WorkflowOptions> workflowOptions,
    IOptions<LlmOptions> llmOptions,
    ApprovalGate gate)
{
    /// <summary>
    /// Runs the workflow from where its history stands: a first run from the start, a resumed one (after the server
    /// stopped mid-run, or after a decision on an approval) from its <see cref="RunCheckpoint"/>. Committed agents are
    /// never run again; the agent that was in flight, or that a person asked to revise, runs again under its id, its
    /// deltas marked with a new attempt so clients drop the abandoned text. Null when the run parked at an approval.
    /// </summary>
    /// <param name="spent">
    /// Filled with the workflow's usage as the run goes (the history's, then each call's), so that a run that fails or
    /// is cancelled still reports what it spent, its failed call included.
    /// </param>
    public async Task<WorkflowOutcome?> RunAsync(WorkflowRecord workflow, WorkflowUsage spent, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var steps = workflow.MaxSteps;
        // This attempt's fencing token: every event it writes presents it, so a newer attempt elsewhere makes it stop.
        long fence = workflow.Attempts;
        var checkpoint = await RunCheckpoint.ReadAsync(log, workflow.Id, cancellationToken);
        var outputs = checkpoint.Outputs;
        var usage = spent;
        AddHistory(usage, checkpoint, workflow.Task);

        var perRole = checkpoint.SpawnedPerRole;
        var inFlight = checkpoint.InFlightAgentId;
        var policy = workflow.Approval;
        if (checkpoint.Rejection is { } rejection)
        {
            throw new ApprovalRejectedException(rejection.ApprovalId, rejection.DecidedBy, rejection.Comment);
        }

        // A run that stopped at an agent's gate (parked there, or stopped before asking) passes it first.
        if (!checkpoint.SynthesisStarted && policy is not null)
        {
            var pending = checkpoint.OpenApproval is { AgentId: not null } open
                ? new GateRequest(open.ApprovalId, open.Kind, open.AgentId, open.Content, open.Confidence, Announced: true)
                : checkpoint.UngatedOutput is { } ungated && policy.Gates(ungated) ? AgentGate(ungated, checkpoint) : null;
            if (pending is not null)
            {
                if (await gate.PassAsync(workflow, pending, cancellationToken) is not { } decision)
                {
                    return null;
                }

                inFlight = Apply(decision, outputs, checkpoint) ?? inFlight;
            }
        }

        // The loop of a first run, continued: agents until the steps run out or enough of them agree.
        while (!checkpoint.SynthesisStarted && outputs.Count < steps && !Agreed(outputs))
        {
            var spawnTime = HelixGeometry.SpawnTime(outputs.Count, steps);
            var plugin = registry.ForSpawnTime(spawnTime);
            string agentId;
            int? attempt = null;
            if (inFlight is not null)
            {
                agentId = inFlight;
                inFlight = null;
                attempt = Math.Max(workflow.Attempts, checkpoint.LastAttempt.GetValueOrDefault(agentId, 1) + 1);
                checkpoint.LastAttempt[agentId] = attempt.Value;
            }
            else
            {
                perRole[plugin.AgentType] = perRole.GetValueOrDefault(plugin.AgentType) + 1;
                agentId = $"{plugin.AgentType}_{perRole[plugin.AgentType]:000}";
            }

            var remarks = checkpoint.Remarks.GetValueOrDefault(agentId) ?? [];
            var result = await RunAgentAsync(workflow, plugin, agentId, spawnTime, attempt, outputs, remarks, usage, cancellationToken);
            var output = new AgentResult(agentId, plugin.AgentType, result.Text, ParseConfidence(result.Text));
            outputs.Add(output);
            Add(usage, result);
            await ProgressAsync(workflow.Id, fence, outputs.Count, steps + 1, started, "agent_completed");
            if (policy?.Gates(output) == true)
            {
                if (await gate.PassAsync(workflow, AgentGate(output, checkpoint), cancellationToken) is not { } decision)
                {
                    return null;
                }

                inFlight = Apply(decision, outputs, checkpoint);
            }
        }

        if (!checkpoint.SynthesisStarted)
        {
            await publisher.PublishAsync(new SynthesisStartedEvent { WorkflowId = workflow.Id, AgentCount = outputs.Count }, fence, cancellationToken);
        }

        await ProgressAsync(workflow.Id, fence, outputs.Count, outputs.Count + 1, started, "synthesis_started");

        var synthesisRemarks = checkpoint.Remarks.GetValueOrDefault(RunCheckpoint.SynthesisStep) ?? [];
        Synthesis? answer = checkpoint.ApprovedSynthesis is { } approved ? FromApproval(approved, outputs.Count) : null;
        if (answer is null && checkpoint.OpenApproval is { AgentId: null } openSynthesis)
        {
            var request = new GateRequest(openSynthesis.ApprovalId, openSynthesis.Kind, null, openSynthesis.Content, openSynthesis.Confidence, Announced: true);
            if (await gate.PassAsync(workflow, request, cancellationToken) is not { } decision)
            {
                return null;
            }

            Apply(decision, outputs, checkpoint);
            answer = decision.Decision == ApprovalDecisions.Approve ? FromApproval(openSynthesis, outputs.Count) : null;
        }

        while (answer is null)
        {
            ModelResult synthesis;
            using (WorkflowTracing.StartAgent(workflow.Id, "synthesis", "synthesis"))
            {
                synthesis = await CallModelAsync(new ModelCall(HelixPrompts.SynthesisPrompt(workflow.Task, outputs, synthesisRemarks)), 0.3f, 600, usage, cancellationToken);
            }

            Add(usage, synthesis);
            var candidate = new Synthesis
            {
                Content = StripConfidence(synthesis.Text),
                Confidence = ParseConfidence(synthesis.Text),
                AgentsSynthesized = outputs.Count,
                TokenCount = synthesis.CompletionTokens,
            };
            if (policy?.BeforeSynthesis != true)
            {
                answer = candidate;
                break;
            }

            var round = checkpoint.ApprovalRounds[RunCheckpoint.SynthesisStep] = checkpoint.ApprovalRounds.GetValueOrDefault(RunCheckpoint.SynthesisStep) + 1;
            var gateRequest = new GateRequest(
                $"apr_synthesis_{round}", ApprovalDecisions.SynthesisKind, null, candidate.Content, candidate.Confidence,
                Usage: Add(new WorkflowUsage(), synthesis));
            if (await gate.PassAsync(workflow, gateRequest, cancellationToken) is not { } verdict)
            {
                return null;
            }

            Apply(verdict, outputs, checkpoint);
            answer = verdict.Decision == ApprovalDecisions.Approve ? candidate : null;
            synthesisRemarks = checkpoint.Remarks.GetValueOrDefault(RunCheckpoint.SynthesisStep) ?? [];
        }

        usage.DurationSeconds = Math.Round(time.GetElapsedTime(started).TotalSeconds, 3);
        await ProgressAsync(workflow.Id, fence, 1, 1, started, "synthesis_completed");
        return new WorkflowOutcome(answer, usage);
    }

    private bool Agreed(List<AgentResult> outputs) =>
        outputs.Count >= workflowOptions.Value.MinAgentsBeforeSynthesis
        && outputs.Average(o => o.Confidence) >= workflowOptions.Value.ConfidenceThreshold;

    /// <summary>
    /// One agent's step. A step run again (<paramref name="attempt"/> set) was already spawned and announced: it only
    /// streams its text again, marked with the attempt, and commits its output.
    /// </summary>
    private async Task<ModelResult> RunAgentAsync(
        WorkflowRecord workflow, AgentPlugin plugin, string agentId, double spawnTime, int? attempt,
        IReadOnlyList<AgentResult> earlier, IReadOnlyList<string> remarks, WorkflowUsage spent, CancellationToken cancellationToken)
    {
        using var span = WorkflowTracing.StartAgent(workflow.Id, agentId, plugin.AgentType);
        var spawned = time.GetTimestamp();
        long fence = workflow.Attempts;
        var temperature = Math.Round(geometry.TemperatureAt(spawnTime), 3);
        var budget = geometry.TokenBudgetAt(spawnTime, plugin.DefaultTokens);
        try
        {
            // Inside the try: an announcement the log refuses still ends the step's time among the active agents.
            await steps.BeginAsync(workflow, plugin, agentId, spawnTime, temperature, budget, announce: attempt is null, cancellationToken);
            var window = llmOptions.Value.DeltaCoalesceWindow;
            var text = new DeltaCoalescer((delta, index) => Publish(new AgentOutputDeltaEvent
            {
                WorkflowId = workflow.Id, AgentId = agentId, Delta = delta, Index = index, Attempt = attempt,
            }), time, window);
            var reasoning = new DeltaCoalescer((delta, index) => Publish(new AgentReasoningDeltaEvent
            {
                WorkflowId = workflow.Id, AgentId = agentId, Delta = delta, Index = index, Attempt = attempt,
            }), time, window);

            var call = new ModelCall(HelixPrompts.AgentPrompt(plugin, workflow.Task, earlier, remarks), text, reasoning);
            var result = await CallModelAsync(call, (float)temperature, budget, spent, cancellationToken);
            var confidence = ParseConfidence(result.Text);
            await steps.CommitAsync(workflow, plugin, agentId, result, confidence, time.GetElapsedTime(spawned), cancellationToken);
            return result;
        }
        finally
        {
            await steps.EndAsync(workflow.Id, agentId, plugin.AgentType);
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        async ValueTask Publish(WorkflowEvent evt) => await publisher.PublishAsync(evt, fence, cancellationToken);
    }

    private async Task<ModelResult> CallModelAsync(ModelCall call, float temperature, int maxTokens, WorkflowUsage spent, CancellationToken cancellationToken)
    {
        try
        {
            return await model.CallAsync(call, temperature, maxTokens, cancellationToken);
        }
        catch
        {
            SpentOnFailure(spent, call);
            throw;
        }
    }

    private async Task ProgressAsync(string workflowId, long fence, int done, int total, long started, string milestone)
    {
        var fraction = Math.Clamp((double)done / Math.Max(1, total), 0, 1);
        var elapsed = time.GetElapsedTime(started).TotalSeconds;
        var eta = fraction >= 1 ? 0 : elapsed / Math.Max(1e-9, fraction) * (1 - fraction);
        await publisher.PublishAsync(new WorkflowProgressEvent
        {
            WorkflowId = workflowId,
            Percent = Math.Round(fraction * 100, 1),
            EtaSeconds = Math.Round(eta, 1),
            Milestone = milestone,
        }, fence);
    }

    /// <summary>
    /// The workflow's usage as its history records it: what the model reported for every committed step and synthesis,
    /// and an estimate for each attempt whose usage it lacks (<see cref="UsageEstimate"/>).
    /// </summary>
    /// <summary>
    /// What a workflow's history holds of a rejection the run had not acted on yet: the usage so far, and whether the
    /// resolution is in the history already (the run published it, then stopped before its cancelled status).
    /// </summary>
    public async Task<(WorkflowUsage Usage, bool Resolved)> ReadRejectionAsync(WorkflowRecord workflow, string approvalId, CancellationToken cancellationToken = default)
    {
        var checkpoint = await RunCheckpoint.ReadAsync(log, workflow.Id, cancellationToken);
        var usage = new WorkflowUsage();
        AddHistory(usage, checkpoint, workflow.Task);
        return (usage, checkpoint.Rejection?.ApprovalId == approvalId);
    }

    public async Task<WorkflowUsage> ReadUsageAsync(WorkflowRecord workflow, CancellationToken cancellationToken = default)
    {
        var usage = new WorkflowUsage();
        AddHistory(usage, await RunCheckpoint.ReadAsync(log, workflow.Id, cancellationToken), workflow.Task);
        return usage;
    }

    private void AddHistory(WorkflowUsage usage, RunCheckpoint checkpoint, string task)
    {
        var reported = checkpoint.Usage;
        usage.LlmCalls += reported.LlmCalls;
        usage.PromptTokens += reported.PromptTokens;
        usage.CompletionTokens += reported.CompletionTokens;
        usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens;
        usage.LlmLatencyMs = Math.Round(usage.LlmLatencyMs + reported.LlmLatencyMs, 1);
        foreach (var step in checkpoint.Unreported)
        {
            var (promptTokens, completionTokens) = UsageEstimate.Of(step, registry.Find(step.AgentType), task);
            UsageEstimate.AddEstimated(usage, promptTokens, completionTokens, abandoned: !step.Committed);
        }
    }

    /// <summary>
    /// Counts a call that failed (the model threw, the run was cancelled or fenced, storage failed under it): exactly when
    /// the model reported its usage before it stopped, otherwise estimated from the prompt and what it streamed. This
    /// usage is kept only when the run ends here (failed, cancelled); a run resumed later estimates the step from its
    /// history instead, so nothing is counted twice.
    /// </summary>
    private static void SpentOnFailure(WorkflowUsage spent, ModelCall call)
    {
        if (call.PromptTokens + call.CompletionTokens > 0)
        {
            Add(spent, new ModelResult("", call.PromptTokens, call.CompletionTokens, Math.Round(call.Latency.TotalMilliseconds, 1)));
            spent.AbandonedCalls = (spent.AbandonedCalls ?? 0) + 1;
            return;
        }

        UsageEstimate.AddEstimated(
            spent,
            OfflineWriter.Count(call.Prompt),
            OfflineWriter.TokenCount(call.Thought.ToString()) + OfflineWriter.TokenCount(call.Content.ToString()));
    }

    private static WorkflowUsage Add(WorkflowUsage usage, ModelResult result)
    {
        usage.LlmCalls++;
        usage.PromptTokens += result.PromptTokens;
        usage.CompletionTokens += result.CompletionTokens;
        usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens;
        usage.LlmLatencyMs = Math.Round(usage.LlmLatencyMs + result.LatencyMs, 1);
        return usage;
    }

    internal static double ParseConfidence(string text) => HelixPrompts.ParseConfidence(text);

    internal static string StripConfidence(string text) => HelixPrompts.StripConfidence(text);
}
