using System.Text.Json.Nodes;

namespace Felix.Server.AgUi;

/// <summary>
/// The AG-UI 1.0 events Felix sends, built as the <c>@ag-ui/core</c> 1.0.0 zod schemas define them: camelCase fields,
/// optional fields left out rather than null (the client refuses a null where a field is optional).
/// </summary>
internal static class AgUiEvents
{
    public const string ProtocolVersion = "1.0";

    public const string RunStarted = "RUN_STARTED";
    public const string RunFinished = "RUN_FINISHED";
    public const string RunError = "RUN_ERROR";
    public const string StateSnapshot = "STATE_SNAPSHOT";
    public const string StateDelta = "STATE_DELTA";
    public const string SubagentStarted = "SUBAGENT_STARTED";
    public const string SubagentFinished = "SUBAGENT_FINISHED";
    public const string SubagentError = "SUBAGENT_ERROR";
    public const string TextMessageStart = "TEXT_MESSAGE_START";
    public const string TextMessageContent = "TEXT_MESSAGE_CONTENT";
    public const string TextMessageEnd = "TEXT_MESSAGE_END";
    public const string ReasoningStart = "REASONING_START";
    public const string ReasoningMessageStart = "REASONING_MESSAGE_START";
    public const string ReasoningMessageContent = "REASONING_MESSAGE_CONTENT";
    public const string ReasoningMessageEnd = "REASONING_MESSAGE_END";
    public const string ReasoningEnd = "REASONING_END";

    public static string TypeOf(JsonObject evt) => evt["type"]!.GetValue<string>();

    public static JsonObject Started(string threadId, string runId, JsonObject? metadata) => Event(RunStarted, null,
        ("threadId", threadId), ("runId", runId), ("protocolVersion", ProtocolVersion), ("metadata", metadata));

    public static JsonObject Finished(string threadId, string runId, JsonObject outcome, JsonNode? result = null, JsonArray? usage = null, long? timestamp = null) =>
        Event(RunFinished, timestamp, ("threadId", threadId), ("runId", runId), ("result", result), ("outcome", outcome), ("usage", usage));

    public static JsonObject Error(string message, string code, long? timestamp) => Event(RunError, timestamp, ("message", message), ("code", code));

    public static JsonObject Snapshot(JsonNode state) => Event(StateSnapshot, null, ("snapshot", state));

    /// <summary>A JSON Patch of <c>add</c> operations (RFC 6902: add replaces an existing member, so it works either way).</summary>
    public static JsonObject Delta(long? timestamp, params (string Path, JsonNode? Value)[] adds) => Event(StateDelta, timestamp,
        ("delta", new JsonArray(adds.Select(a => (JsonNode)new JsonObject { ["op"] = "add", ["path"] = a.Path, ["value"] = a.Value }).ToArray())));

    public static JsonObject SubagentStart(string subagentRunId, string name, string description, long? timestamp) =>
        Event(SubagentStarted, timestamp, ("subagentRunId", subagentRunId), ("name", name), ("description", description));

    public static JsonObject SubagentFinish(string subagentRunId, JsonObject outcome, JsonNode? result, long? timestamp) =>
        Event(SubagentFinished, timestamp, ("subagentRunId", subagentRunId), ("result", result), ("outcome", outcome));

    public static JsonObject SubagentFail(string subagentRunId, string message, string code, long? timestamp) =>
        Event(SubagentError, timestamp, ("subagentRunId", subagentRunId), ("message", message), ("code", code));

    public static JsonObject TextStart(string messageId, string? subagentRunId, string? name, long? timestamp) =>
        Event(TextMessageStart, timestamp, ("messageId", messageId), ("role", "assistant"), ("name", name), ("subagentRunId", subagentRunId));

    public static JsonObject TextContent(string messageId, string delta, string? subagentRunId, long? timestamp) =>
        Event(TextMessageContent, timestamp, ("messageId", messageId), ("delta", delta), ("subagentRunId", subagentRunId));

    public static JsonObject TextEnd(string messageId, string? subagentRunId, long? timestamp) =>
        Event(TextMessageEnd, timestamp, ("messageId", messageId), ("subagentRunId", subagentRunId));

    public static JsonObject Reasoning(string type, string messageId, string subagentRunId, long? timestamp, string? delta = null) =>
        Event(type, timestamp, ("messageId", messageId), ("role", type == ReasoningMessageStart ? "reasoning" : null), ("delta", delta), ("subagentRunId", subagentRunId));

    public static JsonObject Outcome(string type, JsonNode? extra = null, string? extraName = null)
    {
        var outcome = new JsonObject { ["type"] = type };
        if (extra is not null && extraName is not null)
        {
            outcome[extraName] = extra;
        }

        return outcome;
    }

    private static JsonObject Event(string type, long? timestamp, params (string Name, JsonNode? Value)[] fields)
    {
        var evt = new JsonObject { ["type"] = type };
        if (timestamp is { } ms)
        {
            evt["timestamp"] = ms;
        }

        foreach (var (name, value) in fields)
        {
            if (value is not null)
            {
                evt[name] = value;
            }
        }

        return evt;
    }
}
