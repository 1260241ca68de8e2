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
}
