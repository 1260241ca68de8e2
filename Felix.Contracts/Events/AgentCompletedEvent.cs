using MessagePack;

namespace Felix.Contracts.Events;

/// <summary><c>agent_completed</c>: an agent finished; its usage and timings.</summary>
[MessagePackObject]
public sealed class AgentCompletedEvent() : WorkflowEvent(EventTypes.AgentCompleted)
{
    /// <summary>The agent's id.</summary>
    [Key("agentId")]
    public string AgentId { get; set; } = "";

    /// <summary>The agent's role.</summary>
    [Key("agentType")]
    public string AgentType { get; set; } = "";

    /// <summary>Tokens sent to the model.</summary>
    [Key("promptTokens")]
    public long PromptTokens { get; set; }

    /// <summary>Tokens the model wrote.</summary>
    [Key("completionTokens")]
    public long CompletionTokens { get; set; }

    /// <summary>Time from the model request to its last token, in milliseconds.</summary>
    [Key("llmLatencyMs")]
    public double LlmLatencyMs { get; set; }

    /// <summary>Time from spawn to completion, in milliseconds.</summary>
    [Key("durationMs")]
    public double DurationMs { get; set; }
}
