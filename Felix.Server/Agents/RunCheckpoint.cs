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
                break;
            case AgentOutputEvent output:
                Outputs.Add(new AgentResult(output.AgentId, output.AgentType, output.Content, output.Confidence));
                if (InFlightAgentId == output.AgentId)
                {
                    InFlightAgentId = null;
                }

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
                break;
        }
    }
}

/// <summary>One agent's committed output.</summary>
internal sealed record AgentResult(string AgentId, string AgentType, string Content, double Confidence);
