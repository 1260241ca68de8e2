using System.Collections.Immutable;
using Felix.Contracts.Events;
using Felix.Server.Agents;
using Felix.Server.Streaming;

namespace Felix.Server.Workflows;

/// <summary>
/// What an agent's step records around its model call: the agent in the workflow's record, among the active agents,
/// announced on the workflow and system streams when it spawns; its output and usage committed when it is done. Every
/// write presents the run's attempt, so a stale run changes nothing.
/// </summary>
internal sealed class AgentSteps(IWorkflowStore store, EventPublisher publisher, SystemEventBus system, ActiveAgents active, TimeProvider time)
{
    /// <summary>
    /// Records the agent as spawned; announces it unless <paramref name="announce"/> is false (a step run again was
    /// announced by its first attempt). The agent counts as active until <see cref="End"/>.
    /// </summary>
    public async Task BeginAsync(
        WorkflowRecord workflow, AgentPlugin plugin, string agentId, double spawnTime, double temperature, int budget, bool announce,
        CancellationToken cancellationToken)
    {
        // A run that stopped between this write and the agent_spawned event already recorded the agent.
        await store.UpdateAsync(workflow.Id, w => w.Attempts != workflow.Attempts || w.Agents.Any(a => a.AgentId == agentId)
            ? null
            : w with { Agents = w.Agents.Add(new AgentRecord(agentId, plugin.AgentType, spawnTime)) }, CancellationToken.None);
        active.Add(new ActiveAgent(workflow.Id, agentId, plugin.AgentType, spawnTime, time.GetUtcNow(), workflow.Task, workflow.Owner));
        if (!announce)
        {
            return;
        }

        await publisher.PublishAsync(new AgentSpawnedEvent
        {
            WorkflowId = workflow.Id, AgentId = agentId, AgentType = plugin.AgentType,
            SpawnTime = spawnTime, Temperature = temperature, TokenBudget = budget,
        }, workflow.Attempts, cancellationToken);
        await system.PublishAsync(new SystemEvent
        {
            Type = SystemEvent.AgentRegistered, WorkflowId = workflow.Id, AgentId = agentId, AgentType = plugin.AgentType,
            Message = $"Agent {agentId} spawned in workflow {workflow.Id}",
        });
    }

    /// <summary>Commits the step: its confidence and usage in the record, then <c>agent_output</c> and <c>agent_completed</c>.</summary>
    public async Task CommitAsync(
        WorkflowRecord workflow, AgentPlugin plugin, string agentId, ModelResult result, double confidence, TimeSpan duration,
        CancellationToken cancellationToken)
    {
        await store.UpdateAsync(workflow.Id, w => w.Attempts != workflow.Attempts ? null : w with
        {
            Agents = w.Agents.Select(a => a.AgentId == agentId
                ? a with { Confidence = confidence, PromptTokens = result.PromptTokens, CompletionTokens = result.CompletionTokens }
                : a).ToImmutableList(),
        }, CancellationToken.None);
        await publisher.PublishAsync(new AgentOutputEvent
        {
            WorkflowId = workflow.Id, AgentId = agentId, AgentType = plugin.AgentType, Content = result.Text, Confidence = confidence,
        }, workflow.Attempts, cancellationToken);
        await publisher.PublishAsync(new AgentCompletedEvent
        {
            WorkflowId = workflow.Id, AgentId = agentId, AgentType = plugin.AgentType,
            PromptTokens = result.PromptTokens, CompletionTokens = result.CompletionTokens,
            LlmLatencyMs = result.LatencyMs, DurationMs = Math.Round(duration.TotalMilliseconds, 1),
        }, workflow.Attempts, cancellationToken);
    }

    /// <summary>The step is over, committed or not: the agent is no longer active, and the system streams hear it.</summary>
    public async Task EndAsync(string workflowId, string agentId, string agentType)
    {
        active.Remove(workflowId, agentId);
        await system.PublishAsync(new SystemEvent
        {
            Type = SystemEvent.AgentDeregistered, WorkflowId = workflowId, AgentId = agentId, AgentType = agentType,
            Message = $"Agent {agentId} of workflow {workflowId} is done",
        });
    }
}
