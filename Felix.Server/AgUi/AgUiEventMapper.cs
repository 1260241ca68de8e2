using System.Globalization;
using System.Text;
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
    private readonly Dictionary<string, AgentStream> _agents = new(StringComparer.Ordinal);

    public string WorkflowId => workflowId;

    /// <summary>True once the run's last event (<c>RUN_FINISHED</c> or <c>RUN_ERROR</c>) was produced.</summary>
    public bool Finished { get; private set; }

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

            // An approval request (issue #21) will end the run here through Interrupt, once the event exists.
        }

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

        var agent = new AgentStream(SubagentRunId(workflowId, agentId), agentId);
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
    private AgentStream Agent(string agentId, string? agentType, long? at, List<JsonObject> output)
    {
        if (!_agents.ContainsKey(agentId))
        {
            Spawn(agentId, agentType ?? agentId.Split('_')[0], 0, 0, 0, at, output);
        }

        return _agents[agentId];
    }

    private void CloseAgents(Action<AgentStream> close)
    {
        foreach (var agent in _agents.Values.Where(a => a.Open))
        {
            close(agent);
        }
    }

    private static string AgentPath(string agentId, string? member)
    {
        var escaped = agentId.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
        return member is null ? $"/agents/{escaped}" : $"/agents/{escaped}/{member}";
    }

    private static long? Milliseconds(string timestamp) =>
        DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at.ToUnixTimeMilliseconds() : null;

    /// <summary>
    /// One agent as a subagent: its reasoning and text messages, one pair per attempt. Reasoning may go on while the text
    /// streams, so the two are open side by side; both close with the agent's output.
    /// </summary>
    private sealed class AgentStream(string subagentRunId, string agentId)
    {
        private readonly StringBuilder _text = new();
        private int _attempt = 1;
        private bool _reasoningOpen;
        private bool _textOpen;
        private bool _textDone;

        public string SubagentRunId => subagentRunId;

        public bool Open { get; private set; } = true;

        private string Suffix => _attempt > 1 ? $".{_attempt}" : "";

        private string TextId => $"{subagentRunId}.text{Suffix}";

        private string ReasoningId => $"{subagentRunId}.reasoning{Suffix}";

        private string ReasoningSpanId => $"{subagentRunId}.thinking{Suffix}";

        public void Reason(string delta, int? attempt, long? at, List<JsonObject> output)
        {
            if (!Open || !NextAttempt(attempt, at, output))
            {
                return;
            }

            if (!_reasoningOpen)
            {
                output.Add(AgUiEvents.Reasoning(AgUiEvents.ReasoningStart, ReasoningSpanId, subagentRunId, at));
                output.Add(AgUiEvents.Reasoning(AgUiEvents.ReasoningMessageStart, ReasoningId, subagentRunId, at));
                _reasoningOpen = true;
            }

            if (delta.Length > 0)
            {
                output.Add(AgUiEvents.Reasoning(AgUiEvents.ReasoningMessageContent, ReasoningId, subagentRunId, at, delta));
            }
        }

        public void Write(string delta, int? attempt, long? at, List<JsonObject> output)
        {
            if (!Open || !NextAttempt(attempt, at, output) || _textDone)
            {
                return;
            }

            OpenText(at, output);
            if (delta.Length > 0)
            {
                _text.Append(delta);
                output.Add(AgUiEvents.TextContent(TextId, delta, subagentRunId, at));
            }
        }

        /// <summary>The agent's whole output: what the deltas did not carry is sent, so the message equals the output.</summary>
        public void Complete(string content, long? at, List<JsonObject> output)
        {
            if (!Open || _textDone)
            {
                return;
            }

            var streamed = _text.ToString();
            if (!content.StartsWith(streamed, StringComparison.Ordinal))
            {
                CloseText(at, output);
                _attempt++;
                streamed = "";
            }

            OpenText(at, output);
            if (content.Length > streamed.Length)
            {
                output.Add(AgUiEvents.TextContent(TextId, content[streamed.Length..], subagentRunId, at));
            }

            CloseText(at, output);
            CloseReasoning(at, output);
            _textDone = true;
        }

        public void Finish(long? at, List<JsonObject> output, JsonObject? result)
        {
            if (Close(at, output))
            {
                output.Add(AgUiEvents.SubagentFinish(subagentRunId, AgUiEvents.Outcome("success"), result, at));
            }
        }

        public void Fail(string message, string code, long? at, List<JsonObject> output)
        {
            if (Close(at, output))
            {
                output.Add(AgUiEvents.SubagentFail(subagentRunId, message, code, at));
            }
        }

        public void Suspend(string interruptId, long? at, List<JsonObject> output)
        {
            if (Close(at, output))
            {
                output.Add(AgUiEvents.SubagentFinish(subagentRunId,
                    AgUiEvents.Outcome("suspended", new JsonArray(interruptId), "interruptIds"), null, at));
            }
        }

        private bool Close(long? at, List<JsonObject> output)
        {
            if (!Open)
            {
                return false;
            }

            CloseText(at, output);
            CloseReasoning(at, output);
            Open = false;
            return true;
        }

        /// <summary>A later attempt abandons the earlier one's text: its messages are closed and new ones opened.</summary>
        private bool NextAttempt(int? attempt, long? at, List<JsonObject> output)
        {
            var next = attempt ?? 1;
            if (next < _attempt)
            {
                return false;
            }

            if (next > _attempt)
            {
                CloseText(at, output);
                CloseReasoning(at, output);
                _attempt = next;
                _text.Clear();
                _textDone = false;
            }

            return true;
        }

        private void OpenText(long? at, List<JsonObject> output)
        {
            if (!_textOpen)
            {
                output.Add(AgUiEvents.TextStart(TextId, subagentRunId, agentId, at));
                _textOpen = true;
            }
        }

        private void CloseText(long? at, List<JsonObject> output)
        {
            if (_textOpen)
            {
                output.Add(AgUiEvents.TextEnd(TextId, subagentRunId, at));
                _textOpen = false;
            }
        }

        private void CloseReasoning(long? at, List<JsonObject> output)
        {
            if (_reasoningOpen)
            {
                output.Add(AgUiEvents.Reasoning(AgUiEvents.ReasoningMessageEnd, ReasoningId, subagentRunId, at));
                output.Add(AgUiEvents.Reasoning(AgUiEvents.ReasoningEnd, ReasoningSpanId, subagentRunId, at));
                _reasoningOpen = false;
            }
        }
    }
}
