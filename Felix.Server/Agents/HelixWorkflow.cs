using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Observability;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Felix.Server.Agents;

/// <summary>
/// The Felix workflow: agents spawn down the helix (research first, critics last), each writes its part through the
/// model while the text streams out, and a synthesis call combines their outputs. Synthesis starts after
/// <see cref="WorkflowRecord.MaxSteps"/> agents, or earlier once enough agents agree with enough confidence.
/// </summary>
internal sealed partial class HelixWorkflow(
    IChatClient model,
    AgentRegistry registry,
    HelixGeometry geometry,
    ActiveAgents activeAgents,
    IWorkflowStore store,
    EventPublisher publisher,
    SystemEventBus system,
    TimeProvider time,
    IOptions<WorkflowOptions> workflowOptions,
    IOptions<LlmOptions> llmOptions,
    FelixMetrics metrics)
{
    private const double DefaultConfidence = 0.5; // a model that states none is taken as undecided

    /// <summary>
    /// Runs the workflow from where its history stands: a first run from the start, a resumed one (after the server
    /// stopped mid-run) from its <see cref="RunCheckpoint"/>. Committed agents are never run again; the agent that was in
    /// flight runs again under its id, its deltas marked with the run's attempt so clients drop the abandoned text.
    /// </summary>
    public async Task<WorkflowOutcome> RunAsync(WorkflowRecord workflow, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var steps = workflow.MaxSteps;
        // This attempt's fencing token: every event it writes presents it, so a newer attempt elsewhere makes it stop.
        long fence = workflow.Attempts;
        var checkpoint = await RunCheckpoint.ReadAsync(publisher.Log, workflow.Id, cancellationToken);
        var outputs = checkpoint.Outputs;
        var usage = checkpoint.Usage;
        var perRole = checkpoint.SpawnedPerRole;
        var inFlight = checkpoint.InFlightAgentId;

        // The loop of a first run, continued: agents until the steps run out or enough of them agree.
        while (!checkpoint.SynthesisStarted && outputs.Count < steps && !Agreed(outputs))
        {
            var spawnTime = HelixGeometry.SpawnTime(outputs.Count, steps);
            var plugin = registry.ForSpawnTime(spawnTime);
            string agentId;
            int? attempt = null;
            if (inFlight is not null)
            {
                (agentId, attempt, inFlight) = (inFlight, workflow.Attempts, null);
            }
            else
            {
                perRole[plugin.AgentType] = perRole.GetValueOrDefault(plugin.AgentType) + 1;
                agentId = $"{plugin.AgentType}_{perRole[plugin.AgentType]:000}";
            }

            var result = await RunAgentAsync(workflow, plugin, agentId, spawnTime, attempt, outputs, cancellationToken);
            outputs.Add(new AgentResult(agentId, plugin.AgentType, result.Text, ParseConfidence(result.Text)));
            Add(usage, result);
            await ProgressAsync(workflow.Id, fence, outputs.Count, steps + 1, started, "agent_completed");
        }

        if (!checkpoint.SynthesisStarted)
        {
            await publisher.PublishAsync(new SynthesisStartedEvent { WorkflowId = workflow.Id, AgentCount = outputs.Count }, fence, cancellationToken);
        }

        await ProgressAsync(workflow.Id, fence, outputs.Count, outputs.Count + 1, started, "synthesis_started");

        ModelResult synthesis;
        using (WorkflowTracing.StartAgent(workflow.Id, "synthesis", "synthesis"))
        {
            synthesis = await CallModelAsync(SynthesisPrompt(workflow.Task, outputs), 0.3f, 600, null, null, cancellationToken);
        }

        Add(usage, synthesis);
        usage.DurationSeconds = Math.Round(time.GetElapsedTime(started).TotalSeconds, 3);
        await ProgressAsync(workflow.Id, fence, 1, 1, started, "synthesis_completed");

        return new WorkflowOutcome(
            new Synthesis
            {
                Content = StripConfidence(synthesis.Text),
                Confidence = ParseConfidence(synthesis.Text),
                AgentsSynthesized = outputs.Count,
                TokenCount = synthesis.CompletionTokens,
            },
            usage);
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
        IReadOnlyList<AgentResult> earlier, CancellationToken cancellationToken)
    {
        using var span = WorkflowTracing.StartAgent(workflow.Id, agentId, plugin.AgentType);
        var spawned = time.GetTimestamp();
        long fence = workflow.Attempts;
        var temperature = Math.Round(geometry.TemperatureAt(spawnTime), 3);
        var budget = geometry.TokenBudgetAt(spawnTime, plugin.DefaultTokens);
        // A run that stopped between this write and the agent_spawned event already recorded the agent.
        await store.UpdateAsync(workflow.Id, w => w.Attempts != workflow.Attempts || w.Agents.Any(a => a.AgentId == agentId)
            ? null
            : w with { Agents = w.Agents.Add(new AgentRecord(agentId, plugin.AgentType, spawnTime)) }, CancellationToken.None);
        activeAgents.Add(new ActiveAgent(workflow.Id, agentId, plugin.AgentType, spawnTime, time.GetUtcNow(), workflow.Task, workflow.Owner));
        try
        {
            if (attempt is null)
            {
                await publisher.PublishAsync(new AgentSpawnedEvent
                {
                    WorkflowId = workflow.Id, AgentId = agentId, AgentType = plugin.AgentType,
                    SpawnTime = spawnTime, Temperature = temperature, TokenBudget = budget,
                }, fence, cancellationToken);
                await system.PublishAsync(new SystemEvent
                {
                    Type = SystemEvent.AgentRegistered, WorkflowId = workflow.Id, AgentId = agentId, AgentType = plugin.AgentType,
                    Message = $"Agent {agentId} spawned in workflow {workflow.Id}",
                });
            }

            var window = llmOptions.Value.DeltaCoalesceWindow;
            var text = new DeltaCoalescer((delta, index) => Publish(new AgentOutputDeltaEvent
            {
                WorkflowId = workflow.Id, AgentId = agentId, Delta = delta, Index = index, Attempt = attempt,
            }), time, window);
            var reasoning = new DeltaCoalescer((delta, index) => Publish(new AgentReasoningDeltaEvent
            {
                WorkflowId = workflow.Id, AgentId = agentId, Delta = delta, Index = index, Attempt = attempt,
            }), time, window);

            var result = await CallModelAsync(AgentPrompt(plugin, workflow.Task, earlier), (float)temperature, budget, text, reasoning, cancellationToken);
            var confidence = ParseConfidence(result.Text);
            await store.UpdateAsync(workflow.Id, w => w.Attempts != workflow.Attempts ? null : w with
            {
                Agents = w.Agents.Select(a => a.AgentId == agentId
                    ? a with { Confidence = confidence, PromptTokens = result.PromptTokens, CompletionTokens = result.CompletionTokens }
                    : a).ToImmutableList(),
            }, CancellationToken.None);
            await publisher.PublishAsync(new AgentOutputEvent
            {
                WorkflowId = workflow.Id, AgentId = agentId, AgentType = plugin.AgentType, Content = result.Text, Confidence = confidence,
            }, fence, cancellationToken);
            await publisher.PublishAsync(new AgentCompletedEvent
            {
                WorkflowId = workflow.Id, AgentId = agentId, AgentType = plugin.AgentType,
                PromptTokens = result.PromptTokens, CompletionTokens = result.CompletionTokens,
                LlmLatencyMs = result.LatencyMs, DurationMs = Math.Round(time.GetElapsedTime(spawned).TotalMilliseconds, 1),
            }, fence, cancellationToken);
            return result;
        }
        finally
        {
            activeAgents.Remove(workflow.Id, agentId);
        }

        ValueTask Publish(WorkflowEvent evt) => new(publisher.PublishAsync(evt, fence, cancellationToken).AsTask());
    }

    private async Task<ModelResult> CallModelAsync(
        List<ChatMessage> prompt, float temperature, int maxTokens, DeltaCoalescer? text, DeltaCoalescer? reasoning, CancellationToken cancellationToken)
    {
        var options = new ChatOptions { Temperature = temperature, MaxOutputTokens = maxTokens };
        var started = time.GetTimestamp();
        var content = new StringBuilder();
        long promptTokens = 0, completionTokens = 0;
        var failed = true;
        try
        {
            await foreach (var update in model.GetStreamingResponseAsync(prompt, options, cancellationToken))
            {
                foreach (var item in update.Contents)
                {
                    switch (item)
                    {
                        case TextReasoningContent r when reasoning is not null && !string.IsNullOrEmpty(r.Text):
                            await reasoning.AddAsync(r.Text);
                            break;
                        case TextContent t when !string.IsNullOrEmpty(t.Text):
                            content.Append(t.Text);
                            if (text is not null)
                            {
                                await text.AddAsync(t.Text);
                            }

                            break;
                        case UsageContent u:
                            promptTokens += u.Details.InputTokenCount ?? 0;
                            completionTokens += u.Details.OutputTokenCount ?? 0;
                            break;
                    }
                }
            }

            failed = false;
        }
        finally
        {
            metrics.LlmCall(promptTokens, completionTokens, time.GetElapsedTime(started), failed);
        }

        if (reasoning is not null)
        {
            await reasoning.FlushAsync();
        }

        if (text is not null)
        {
            await text.FlushAsync();
        }

        return new ModelResult(content.ToString(), promptTokens, completionTokens, Math.Round(time.GetElapsedTime(started).TotalMilliseconds, 1));
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

    private static void Add(WorkflowUsage usage, ModelResult result)
    {
        usage.LlmCalls++;
        usage.PromptTokens += result.PromptTokens;
        usage.CompletionTokens += result.CompletionTokens;
        usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens;
        usage.LlmLatencyMs = Math.Round(usage.LlmLatencyMs + result.LatencyMs, 1);
    }

    private static List<ChatMessage> AgentPrompt(
        AgentPlugin plugin, string task, IReadOnlyList<AgentResult> earlier)
    {
        var user = new StringBuilder().Append("Task: ").AppendLine(task);
        if (earlier.Count > 0)
        {
            user.AppendLine().AppendLine("What the team has so far:");
            foreach (var o in earlier)
            {
                user.AppendLine(CultureInfo.InvariantCulture, $"[{o.AgentId} ({o.AgentType}, confidence {o.Confidence:0.00})] {OneLine(StripConfidence(o.Content))}");
            }
        }

        return
        [
            new(ChatRole.System, plugin.Instructions + " Be concise. End with a line 'Confidence: X' where X is your confidence between 0 and 1."),
            new(ChatRole.User, user.ToString()),
        ];
    }

    private static List<ChatMessage> SynthesisPrompt(string task, IReadOnlyList<AgentResult> outputs)
    {
        var user = new StringBuilder().Append("Task: ").AppendLine(task).AppendLine().AppendLine("Agent outputs:");
        foreach (var o in outputs)
        {
            user.AppendLine(CultureInfo.InvariantCulture, $"[{o.AgentId} ({o.AgentType}, confidence {o.Confidence:0.00})] {OneLine(StripConfidence(o.Content))}");
        }

        return
        [
            new(ChatRole.System, "You are the synthesis step of a team of agents. Combine their outputs into one answer to the task: keep what they agree on, resolve or flag disagreements. End with a line 'Confidence: X' where X is between 0 and 1."),
            new(ChatRole.User, user.ToString()),
        ];
    }

    internal static double ParseConfidence(string text)
    {
        var matches = ConfidencePattern().Matches(text);
        return matches.Count > 0 && double.TryParse(matches[^1].Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? Math.Clamp(value > 1 && value <= 100 ? value / 100 : value, 0, 1)
            : DefaultConfidence;
    }

    internal static string StripConfidence(string text) => ConfidencePattern().Replace(text, "").TrimEnd();

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    [GeneratedRegex(@"(?im)^\s*\**confidence\**\s*[:=]\s*([0-9]*\.?[0-9]+)\s*%?\s*$")]
    private static partial Regex ConfidencePattern();
}
