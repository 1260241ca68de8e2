using Felix.Contracts.Dtos;

using Felix.Server.Agents;

namespace Felix.Server.Workflows;

/// <summary>
/// What an abandoned attempt is taken to have spent, since its model never reported usage (a killed process reports
/// nothing, and streaming providers report usage only at the end). Tokens are counted the way the offline model counts
/// them (word tokens): the prompt the attempt was sent, rebuilt from the history, as input; what the history shows it
/// streamed (text and reasoning) as output. A model cut off mid-stream may have written a little more than was
/// committed to the history, and a real tokenizer counts differently, so the figure is flagged as estimated.
/// </summary>
internal static class UsageEstimate
{
    public static (long PromptTokens, long CompletionTokens) Of(UnreportedStep step, AgentPlugin? plugin, string task)
    {
        long prompt = plugin is null ? 0 : OfflineWriter.Count(HelixPrompts.AgentPrompt(plugin, task, step.Earlier, step.Remarks));
        long completion = OfflineWriter.TokenCount(step.Reasoning) + OfflineWriter.TokenCount(step.Text);
        return (prompt, completion);
    }

    /// <summary>Counts one call in <paramref name="usage"/>, its tokens flagged as estimated, and as abandoned unless it committed.</summary>
    public static void AddEstimated(WorkflowUsage usage, long promptTokens, long completionTokens, bool abandoned = true)
    {
        usage.LlmCalls++;
        usage.PromptTokens += promptTokens;
        usage.CompletionTokens += completionTokens;
        usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens;
        usage.EstimatedTokens = (usage.EstimatedTokens ?? 0) + promptTokens + completionTokens;
        if (abandoned)
        {
            usage.AbandonedCalls = (usage.AbandonedCalls ?? 0) + 1;
        }
    }
}
