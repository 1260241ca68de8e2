using System.Text.Json.Nodes;

namespace Felix.Server.AgUi;

/// <summary>
/// What a client holds after the AG-UI events it has seen: the shared state, the subagents and messages still open (in
/// the order they were opened), and the run's last event. A resumed run starts from here: a snapshot of the state and the
/// openers again, under the same ids, so the client continues the same subagents and messages instead of new ones.
/// </summary>
internal sealed class AgUiSeenState(JsonObject initialState)
{
    private readonly List<(string Key, JsonObject Opener)> _open = [];

    public JsonObject State { get; private set; } = initialState;

    public JsonObject? RunEnd { get; private set; }

    public IEnumerable<JsonObject> Openers => _open.Select(o => o.Opener);

    public void Apply(JsonObject evt)
    {
        switch (AgUiEvents.TypeOf(evt))
        {
            case AgUiEvents.StateSnapshot:
                State = evt["snapshot"]!.DeepClone().AsObject();
                break;
            case AgUiEvents.StateDelta:
                foreach (var op in evt["delta"]!.AsArray())
                {
                    Add(op!["path"]!.GetValue<string>(), op["value"]?.DeepClone());
                }

                break;
            case AgUiEvents.SubagentStarted:
                _open.Add(("subagent:" + evt["subagentRunId"], evt));
                break;
            case AgUiEvents.SubagentFinished or AgUiEvents.SubagentError:
                Close("subagent:" + evt["subagentRunId"]);
                break;
            case AgUiEvents.TextMessageStart:
                _open.Add(("text:" + evt["messageId"], evt));
                break;
            case AgUiEvents.TextMessageEnd:
                Close("text:" + evt["messageId"]);
                break;
            case AgUiEvents.ReasoningStart:
                _open.Add(("span:" + evt["messageId"], evt));
                break;
            case AgUiEvents.ReasoningEnd:
                Close("span:" + evt["messageId"]);
                break;
            case AgUiEvents.ReasoningMessageStart:
                _open.Add(("reasoning:" + evt["messageId"], evt));
                break;
            case AgUiEvents.ReasoningMessageEnd:
                Close("reasoning:" + evt["messageId"]);
                break;
            case AgUiEvents.RunFinished or AgUiEvents.RunError:
                RunEnd = evt;
                break;
        }
    }

    private void Close(string key) => _open.RemoveAll(o => o.Key == key);

    /// <summary>RFC 6902 <c>add</c> on an object member, the only operation the mapper writes.</summary>
    private void Add(string path, JsonNode? value)
    {
        var tokens = path.Split('/').Skip(1).Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
        var target = State;
        foreach (var token in tokens[..^1])
        {
            if (target[token] is not JsonObject child)
            {
                target[token] = child = new JsonObject();
            }

            target = child;
        }

        target[tokens[^1]] = value;
    }
}
