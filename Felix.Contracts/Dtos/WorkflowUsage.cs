using MessagePack;

namespace Felix.Contracts.Dtos;

/// <summary>Token usage and model latency of a workflow run, over all its agents and the synthesis.</summary>
[MessagePackObject]
public sealed class WorkflowUsage
{
    /// <summary>Model calls made.</summary>
    [Key("llmCalls")]
    public int LlmCalls { get; set; }

    /// <summary>Tokens sent to the model.</summary>
    [Key("promptTokens")]
    public long PromptTokens { get; set; }

    /// <summary>Tokens the model wrote.</summary>
    [Key("completionTokens")]
    public long CompletionTokens { get; set; }

    /// <summary>Prompt plus completion tokens.</summary>
    [Key("totalTokens")]
    public long TotalTokens { get; set; }

    /// <summary>Sum of the model calls' latencies, in milliseconds.</summary>
    [Key("llmLatencyMs")]
    public double LlmLatencyMs { get; set; }

    /// <summary>Wall time of the run, in seconds.</summary>
    [Key("durationSeconds")]
    public double DurationSeconds { get; set; }

    /// <summary>
    /// How many of <see cref="TotalTokens"/> are estimated rather than reported by the model: those of attempts that
    /// stopped mid-step (a crash, a lost node) before the model reported usage, counted from the text the history shows
    /// they streamed and the prompt they were sent. Absent when the model reported every token.
    /// </summary>
    [Key("estimatedTokens")]
    public long? EstimatedTokens { get; set; }

    /// <summary>
    /// Model calls, counted in <see cref="LlmCalls"/>, whose attempt was abandoned mid-step and run again. Absent when none was.
    /// </summary>
    [Key("abandonedCalls")]
    public int? AbandonedCalls { get; set; }
}
