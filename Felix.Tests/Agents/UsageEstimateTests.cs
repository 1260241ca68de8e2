using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Agents;
using Felix.Server.Workflows;
using Felix.Server.Streaming;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Felix.Tests.Agents;

/// <summary>
/// The checkpoint counts what a workflow's history shows was spent: the usage the model reported, and for an attempt
/// that stopped mid-step, an estimate from its rebuilt prompt and the text it streamed, with the offline model's tokens.
/// </summary>
public sealed class UsageEstimateTests
{
    private const string WorkflowId = "wf_usage";
    private const string Task = "Compare tea and coffee for a long night of work";

    private readonly InMemoryEventLog _log = new(Options.Create(new StreamingOptions()));

    [Fact]
    public async Task AnAttemptThatStreamedWholeIsEstimatedAtWhatTheOfflineModelReports()
    {
        var research = new AgentResult("research_001", "research", "Tea keeps you awake longer.\n\nConfidence: 0.70", 0.7);
        await AppendAsync(Spawned(research.AgentId, research.AgentType), Output(research), Completed(research, 120, 45));
        var prompt = HelixPrompts.AgentPrompt(AgentRegistry.Analysis, Task, [research], []);
        var (reasoning, text, reported) = await StreamOfflineAsync(prompt);
        // The process died after the last delta and before the output: nothing but the deltas is in the history.
        await AppendAsync(
            Spawned("analysis_001", "analysis"),
            new AgentReasoningDeltaEvent { WorkflowId = WorkflowId, AgentId = "analysis_001", Delta = reasoning },
            new AgentOutputDeltaEvent { WorkflowId = WorkflowId, AgentId = "analysis_001", Delta = text[..(text.Length / 2)] },
            new AgentOutputDeltaEvent { WorkflowId = WorkflowId, AgentId = "analysis_001", Delta = text[(text.Length / 2)..], Index = 1 });

        var checkpoint = await RunCheckpoint.ReadAsync(_log, WorkflowId, CancellationToken.None);

        var abandoned = Assert.Single(checkpoint.Unreported);
        Assert.Equal(("analysis_001", 1), (abandoned.AgentId, abandoned.Attempt));
        Assert.Equal([research], abandoned.Earlier);
        var (promptTokens, completionTokens) = UsageEstimate.Of(abandoned, AgentRegistry.Analysis, Task);
        Assert.Equal((reported.InputTokenCount, reported.OutputTokenCount), (promptTokens, completionTokens));
    }

    [Fact]
    public async Task EveryAbandonedAttemptIsEstimatedOnceAndReportedUsageStaysExact()
    {
        var research = new AgentResult("research_001", "research", "First pass.\n\nConfidence: 0.60", 0.6);
        await AppendAsync(
            Spawned(research.AgentId, research.AgentType),
            Delta(research.AgentId, "Killed in the middle ", attempt: null),
            Delta(research.AgentId, "killed again ", attempt: 2),
            Delta(research.AgentId, "First pass.\n\nConfidence: 0.60", attempt: 3),
            Output(research),
            Completed(research, 100, 9),
            new ApprovalRequestedEvent
            {
                WorkflowId = WorkflowId, ApprovalId = "apr_synthesis_1", Kind = "synthesis", Content = "All of it.",
                Usage = new WorkflowUsage { LlmCalls = 1, PromptTokens = 70, CompletionTokens = 30, TotalTokens = 100, LlmLatencyMs = 5 },
            });

        var checkpoint = await RunCheckpoint.ReadAsync(_log, WorkflowId, CancellationToken.None);

        Assert.Equal([(1, "Killed in the middle "), (2, "killed again ")], checkpoint.Unreported.Select(a => (a.Attempt, a.Text)));
        Assert.Equal((2, 170L, 39L), (checkpoint.Usage.LlmCalls, checkpoint.Usage.PromptTokens, checkpoint.Usage.CompletionTokens));
        Assert.Null(checkpoint.Usage.EstimatedTokens);

        var usage = checkpoint.Usage;
        foreach (var step in checkpoint.Unreported)
        {
            var (prompt, completion) = UsageEstimate.Of(step, AgentRegistry.Research, Task);
            UsageEstimate.AddEstimated(usage, prompt, completion);
        }

        var promptEach = OfflineWriter.Count(HelixPrompts.AgentPrompt(AgentRegistry.Research, Task, [], []));
        Assert.Equal(4, usage.LlmCalls);
        Assert.Equal(2, usage.AbandonedCalls);
        Assert.Equal(2 * promptEach + 4 + 2, usage.EstimatedTokens);
        Assert.Equal(170 + 2 * promptEach + 39 + 6, usage.TotalTokens);
    }

    [Fact]
    public async Task AStepCommittedWithoutItsUsageIsEstimatedFromItsOutputAndNotCountedAbandoned()
    {
        var research = new AgentResult("research_001", "research", "Tea first, then coffee.\n\nConfidence: 0.70", 0.7);
        // The process died between the output and its agent_completed; the resumed run's status comes next.
        await AppendAsync(
            Spawned(research.AgentId, research.AgentType),
            Delta(research.AgentId, "Tea first, ", attempt: null),
            Delta(research.AgentId, "then coffee.\n\nConfidence: 0.70", attempt: null),
            Output(research),
            new WorkflowStatusEvent { Status = "running" });

        var checkpoint = await RunCheckpoint.ReadAsync(_log, WorkflowId, CancellationToken.None);

        Assert.Equal([research], checkpoint.Outputs);
        Assert.Null(checkpoint.InFlightAgentId);
        var step = Assert.Single(checkpoint.Unreported);
        Assert.True(step.Committed);
        var (prompt, completion) = UsageEstimate.Of(step, AgentRegistry.Research, Task);
        Assert.Equal(OfflineWriter.Tokens(research.Content).Count(), completion);
        UsageEstimate.AddEstimated(checkpoint.Usage, prompt, completion, abandoned: !step.Committed);
        Assert.Equal((1, prompt + completion, (int?)null), (checkpoint.Usage.LlmCalls, checkpoint.Usage.EstimatedTokens, checkpoint.Usage.AbandonedCalls));
    }

    private async Task AppendAsync(params WorkflowEvent[] events)
    {
        foreach (var evt in events)
        {
            evt.WorkflowId = WorkflowId;
            await _log.AppendAsync(evt);
        }
    }

    private static AgentSpawnedEvent Spawned(string agentId, string agentType) => new() { AgentId = agentId, AgentType = agentType };

    private static AgentOutputDeltaEvent Delta(string agentId, string text, int? attempt) => new() { AgentId = agentId, Delta = text, Attempt = attempt };

    private static AgentOutputEvent Output(AgentResult result) =>
        new() { AgentId = result.AgentId, AgentType = result.AgentType, Content = result.Content, Confidence = result.Confidence };

    private static AgentCompletedEvent Completed(AgentResult result, long promptTokens, long completionTokens) => new()
    {
        AgentId = result.AgentId, AgentType = result.AgentType, PromptTokens = promptTokens, CompletionTokens = completionTokens, LlmLatencyMs = 1,
    };

    private static async Task<(string Reasoning, string Text, UsageDetails Usage)> StreamOfflineAsync(List<ChatMessage> prompt)
    {
        using var model = new OfflineChatClient(Options.Create(new LlmOptions { OfflineTokenDelay = TimeSpan.Zero }), TimeProvider.System);
        string reasoning = "", text = "";
        UsageDetails? usage = null;
        await foreach (var update in model.GetStreamingResponseAsync(prompt, new ChatOptions { Temperature = 0.5f, MaxOutputTokens = 300 }))
        {
            foreach (var item in update.Contents)
            {
                switch (item)
                {
                    case TextReasoningContent r: reasoning += r.Text; break;
                    case TextContent t: text += t.Text; break;
                    case UsageContent u: usage = u.Details; break;
                }
            }
        }

        return (reasoning, text, usage!);
    }
}
