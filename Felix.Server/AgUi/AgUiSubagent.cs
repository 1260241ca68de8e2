using System.Text;
using System.Text.Json.Nodes;

namespace Felix.Server.AgUi;

/// <summary>
/// One agent as a subagent: its reasoning and text messages, one pair per attempt. Reasoning may go on while the text
/// streams, so the two are open side by side; both close with the agent's output.
/// </summary>
internal sealed class AgUiSubagent(string subagentRunId, string agentId)
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
