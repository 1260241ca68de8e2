using System.Text.Json;
using System.Text.Json.Serialization;

namespace Felix.Server.AgUi;

/// <summary>
/// The body of <c>POST /api/v1/agui</c>: AG-UI's <c>RunAgentInput</c>, camelCase as the protocol writes it. Felix reads
/// the thread, the run, the last user message (the task), <c>forwardedProps</c> (the other fields of a workflow request)
/// and <c>resume</c> (approval decisions); the rest of the conversation, the tools and the context are accepted and not used.
/// </summary>
internal sealed class RunAgentInput
{
    [JsonPropertyName("threadId")]
    public string? ThreadId { get; set; }

    [JsonPropertyName("runId")]
    public string? RunId { get; set; }

    [JsonPropertyName("parentRunId")]
    public string? ParentRunId { get; set; }

    [JsonPropertyName("protocolVersion")]
    public string? ProtocolVersion { get; set; }

    [JsonPropertyName("messages")]
    public List<AgUiMessage>? Messages { get; set; }

    [JsonPropertyName("state")]
    public JsonElement? State { get; set; }

    [JsonPropertyName("tools")]
    public JsonElement? Tools { get; set; }

    [JsonPropertyName("context")]
    public JsonElement? Context { get; set; }

    /// <summary>A workflow request's fields in snake_case (<c>max_steps</c>, ...), and <c>cancel_on_disconnect</c>.</summary>
    [JsonPropertyName("forwardedProps")]
    public JsonElement? ForwardedProps { get; set; }

    /// <summary>Answers to the interrupts a previous run ended with: approval decisions (<see cref="AgUiResume"/>).</summary>
    [JsonPropertyName("resume")]
    public JsonElement? Resume { get; set; }
}
