using System.Globalization;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Events;

namespace Felix.Server.AgUi;

/// <summary>
/// Translates one workflow's Felix events, in stream order, into AG-UI events for one run: each agent a subagent with its
/// reasoning and text, the synthesis as the final assistant message, helix positions, progress and ETA as state deltas, and
/// the terminal event as <c>RUN_FINISHED</c> or <c>RUN_ERROR</c>. Pure: the same history gives the same events, which is
/// what lets a resumed run skip exactly what a client already has.
/// </summary>
/// <remarks>
/// Order rules the reference client enforces, and kept here: nothing after the run's end; a run ends only once every
/// subagent, text and reasoning message it opened is closed; a subagent id is used once per run.
/// </remarks>
internal sealed class AgUiEventMapper(string threadId, string runId, string workflowId)
{
    private readonly Dictionary<string, AgUiSubagent> _agents = new(StringComparer.Ordinal);

    public string WorkflowId => workflowId;

    /// <summary>True once the run's last event (<c>RUN_FINISHED</c> or <c>RUN_ERROR</c>) was produced.</summary>
    public bool Finished { get; private set; }

    /// <summary>
    /// The approval request the history has not resolved yet. Whether the run ends on it is not the history's to say (a
    /// decision is recorded before the run that follows announces it): the stream asks the workflow's record.
    /// </summary>
    public ApprovalRequestedEvent? PendingApproval { get; private set; }

    /// <summary>The shared state before the workflow's first event.</summary>
    public JsonObject InitialState() => new()
    {
        ["workflowId"] = workflowId,
        ["status"] = WorkflowStatuses.Pending,
        ["progress"] = new JsonObject { ["percent"] = 0 },
        ["agents"] = new JsonObject(),
    };

    public static string SubagentRunId(string workflowId, string agentId) => $"{workflowId}.{agentId}";

    public static string SynthesisMessageId(string workflowId) => $"{workflowId}.synthesis";

    public List<JsonObject> Map(WorkflowEvent evt)
    {
        var output = new List<JsonObject>();
        if (Finished)
        {
            return output;
        }

        var at = Milliseconds(evt.Timestamp);
        switch (evt)
        {
            case AgentSpawnedEvent spawned:
                Spawn(spawned.AgentId, spawned.AgentType, spawned.SpawnTime, spawned.Temperature, spawned.TokenBudget, at, output);
                break;
            case AgentReasoningDeltaEvent reasoning:
                Agent(reasoning.AgentId, null, at, output).Reason(reasoning.Delta, reasoning.Attempt, at, output);
                break;
            case AgentOutputDeltaEvent delta:
                Agent(delta.AgentId, null, at, output).Write(delta.Delta, delta.Attempt, at, output);
                break;
            case AgentOutputEvent result:
                Agent(result.AgentId, result.AgentType, at, output).Complete(result.Content, at, output);
                output.Add(AgUiEvents.Delta(at, (AgentPath(result.AgentId, "confidence"), result.Confidence)));
                break;
            case AgentCompletedEvent completed:
                var agent = Agent(completed.AgentId, completed.AgentType, at, output);
                agent.Finish(at, output, new JsonObject
                {
                    ["promptTokens"] = completed.PromptTokens,
                    ["completionTokens"] = completed.CompletionTokens,
                    ["durationMs"] = completed.DurationMs,
                });
                output.Add(AgUiEvents.Delta(at, (AgentPath(completed.AgentId, "status"), "completed")));
                break;
            case WorkflowProgressEvent progress:
                output.Add(AgUiEvents.Delta(at, ("/progress", new JsonObject
                {
                    ["percent"] = progress.Percent,
                    ["etaSeconds"] = progress.EtaSeconds,
                    ["milestone"] = progress.Milestone,
                })));
                break;
            case SynthesisStartedEvent synthesis:
                output.Add(AgUiEvents.Delta(at, ("/synthesis", new JsonObject { ["status"] = "running", ["agentCount"] = synthesis.AgentCount })));
                break;
            case WorkflowCompleteEvent complete:
                CompleteRun(complete, at, output);
                break;
            case WorkflowErrorEvent error:
                CloseAgents(agent => agent.Fail(error.Error, "workflow_error", at, output));
                output.Add(AgUiEvents.Delta(at, ("/status", WorkflowStatuses.Failed)));
                output.Add(AgUiEvents.Error(error.Error, "workflow_error", at));
                Finished = true;
                break;
            case WorkflowStatusEvent { IsTerminal: true } cancelled:
                CloseAgents(agent => agent.Fail("The workflow was cancelled.", "cancelled", at, output));
                output.Add(AgUiEvents.Delta(at, ("/status", cancelled.Status)));
                output.Add(AgUiEvents.Finished(threadId, runId, AgUiEvents.Outcome("cancelled"), timestamp: at));
                Finished = true;
                break;
            case WorkflowStatusEvent status:
                output.Add(AgUiEvents.Delta(at, ("/status", status.Status)));
                break;
            case ApprovalRequestedEvent request:
                PendingApproval = request;
                output.Add(AgUiEvents.Delta(at, ("/approval", Approval(request.ApprovalId, "pending",
                    ("kind", request.Kind), ("agentId", request.AgentId), ("confidence", request.Confidence), ("expiresAt", request.ExpiresAt),
                    ("interruptId", AgUiApprovals.InterruptId(workflowId, request.ApprovalId))))));
                break;
            case ApprovalResolvedEvent resolved:
                if (PendingApproval?.ApprovalId == resolved.ApprovalId)
                {
                    PendingApproval = null;
                }

                output.Add(AgUiEvents.Delta(at, ("/approval", Approval(resolved.ApprovalId, "resolved",
                    ("decision", resolved.Decision), ("comment", resolved.Comment), ("decidedBy", resolved.DecidedBy)))));
                break;
        }

        return output;
    }

    /// <summary>
    /// Ends the run with <c>RUN_ERROR</c> while the workflow goes on (its stream could not be read): every subagent still
    /// open ends with the same error, as the order rules ask. A later run on the thread picks the workflow up again.
    /// </summary>
    public List<JsonObject> Fail(string message, string code, long? at = null)
    {
        var output = new List<JsonObject>();
        if (Finished)
        {
            return output;
        }

        CloseAgents(agent => agent.Fail(message, code, at, output));
        output.Add(AgUiEvents.Error(message, code, at));
        Finished = true;
        return output;
    }

    /// <summary>
    /// Ends the run waiting for outside input: open subagents are suspended on the interrupt, and the run finishes with
    /// outcome <c>interrupt</c>. A later run on the thread answers it with <c>resume</c> entries.
    /// </summary>
    public List<JsonObject> Interrupt(AgUiInterrupt interrupt, long? at = null)
    {
        var output = new List<JsonObject>();
        if (Finished)
        {
            return output;
        }

        CloseAgents(agent => agent.Suspend(interrupt.Id, at, output));
        output.Add(AgUiEvents.Finished(threadId, runId,
            AgUiEvents.Outcome("interrupt", new JsonArray(interrupt.ToJson()), "interrupts"), timestamp: at));
        Finished = true;
        return output;
    }

    private void CompleteRun(WorkflowCompleteEvent complete, long? at, List<JsonObject> output)
    {
        CloseAgents(agent => agent.Finish(at, output, null));
        var messageId = SynthesisMessageId(workflowId);
        output.Add(AgUiEvents.TextStart(messageId, null, "synthesis", at));
        if (complete.Synthesis.Content.Length > 0)
        {
            output.Add(AgUiEvents.TextContent(messageId, complete.Synthesis.Content, null, at));
        }

        output.Add(AgUiEvents.TextEnd(messageId, null, at));
        output.Add(AgUiEvents.Delta(at,
            ("/status", WorkflowStatuses.Completed),
            ("/synthesis", new JsonObject
            {
                ["status"] = WorkflowStatuses.Completed,
                ["confidence"] = complete.Synthesis.Confidence,
                ["agentsSynthesized"] = complete.Synthesis.AgentsSynthesized,
            })));
        var usage = complete.Usage is { } u
            ? new JsonArray(new JsonObject
            {
                ["inputTokens"] = Math.Max(0, u.PromptTokens),
                ["outputTokens"] = Math.Max(0, u.CompletionTokens),
                ["totalTokens"] = Math.Max(0, u.TotalTokens),
            })
            : null;
        var result = new JsonObject
        {
            ["workflowId"] = workflowId,
            ["content"] = complete.Synthesis.Content,
            ["confidence"] = complete.Synthesis.Confidence,
            ["agentsSynthesized"] = complete.Synthesis.AgentsSynthesized,
        };
        output.Add(AgUiEvents.Finished(threadId, runId, AgUiEvents.Outcome("success"), result, usage, at));
        Finished = true;
    }

    private void Spawn(string agentId, string agentType, double spawnTime, double temperature, int tokenBudget, long? at, List<JsonObject> output)
    {
        if (_agents.ContainsKey(agentId))
        {
            return;
        }

        var agent = new AgUiSubagent(SubagentRunId(workflowId, agentId), agentId);
        _agents[agentId] = agent;
        output.Add(AgUiEvents.SubagentStart(agent.SubagentRunId, agentType,
            string.Create(CultureInfo.InvariantCulture, $"{agentType} agent {agentId} at helix position {spawnTime:0.###}"), at));
        output.Add(AgUiEvents.Delta(at, (AgentPath(agentId, null), new JsonObject
        {
            ["role"] = agentType,
            ["position"] = spawnTime,
            ["temperature"] = temperature,
            ["tokenBudget"] = tokenBudget,
            ["status"] = "running",
        })));
    }

    /// <summary>The agent's stream; one whose spawn is not in the history (retention dropped it) is started here.</summary>
    private AgUiSubagent Agent(string agentId, string? agentType, long? at, List<JsonObject> output)
    {
        if (!_agents.ContainsKey(agentId))
        {
            Spawn(agentId, agentType ?? agentId.Split('_')[0], 0, 0, 0, at, output);
        }

        return _agents[agentId];
    }

    private void CloseAgents(Action<AgUiSubagent> close)
    {
        foreach (var agent in _agents.Values.Where(a => a.Open))
        {
            close(agent);
        }
    }

    /// <summary>The state's <c>/approval</c>: the latest request, written whole so it applies whatever the client holds.</summary>
    private static JsonObject Approval(string approvalId, string status, params (string Name, JsonNode? Value)[] fields)
    {
        var approval = new JsonObject { ["approvalId"] = approvalId, ["status"] = status };
        foreach (var (name, value) in fields.Where(f => f.Value is not null))
        {
            approval[name] = value;
        }

        return approval;
    }

    private static string AgentPath(string agentId, string? member)
    {
        var escaped = agentId.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
        return member is null ? $"/agents/{escaped}" : $"/agents/{escaped}/{member}";
    }

    private static long? Milliseconds(string timestamp) =>
        DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at.ToUnixTimeMilliseconds() : null;
}
