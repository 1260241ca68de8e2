using System.Text.Json.Nodes;

namespace Felix.Tests.AgUi;

/// <summary>
/// The order rules <c>@ag-ui/client</c> 1.0.0 enforces on a run (its <c>verifyEvents</c>), checked here on the server's
/// events so the mapping's unit tests fail where the reference client would refuse the stream.
/// </summary>
internal static class AgUiProtocolRules
{
    public static void AssertValidRun(IReadOnlyList<JsonObject> events)
    {
        Assert.NotEmpty(events);
        Assert.Equal("RUN_STARTED", Type(events[0]));
        var text = new Dictionary<string, string?>();
        var reasoning = new Dictionary<string, string?>();
        var spans = new HashSet<string>();
        var subagents = new HashSet<string>();
        var finishedSubagents = new HashSet<string>();
        for (var i = 1; i < events.Count; i++)
        {
            var evt = events[i];
            var type = Type(evt);
            Assert.True(i < events.Count - 1 || type is "RUN_FINISHED" or "RUN_ERROR", $"the run ends with {type}");
            Assert.False(type is "RUN_FINISHED" or "RUN_ERROR" && i < events.Count - 1, $"{type} at {i} is not last");
            var subagent = evt["subagentRunId"]?.GetValue<string>();
            var id = evt["messageId"]?.GetValue<string>();
            switch (type)
            {
                case "RUN_STARTED":
                    Assert.Fail("a second RUN_STARTED");
                    break;
                case "SUBAGENT_STARTED":
                    Assert.True(subagents.Add(subagent!) && !finishedSubagents.Contains(subagent!), $"subagent {subagent} started twice");
                    Assert.NotNull(evt["name"]?.GetValue<string>());
                    break;
                case "SUBAGENT_FINISHED" or "SUBAGENT_ERROR":
                    Assert.True(subagents.Remove(subagent!), $"{type} for {subagent}, which is not active");
                    finishedSubagents.Add(subagent!);
                    break;
                case "TEXT_MESSAGE_START":
                    Assert.True(text.TryAdd(id!, subagent), $"text message {id} started twice");
                    break;
                case "TEXT_MESSAGE_CONTENT" or "TEXT_MESSAGE_END":
                    Assert.True(text.TryGetValue(id!, out var owner), $"{type} for {id}, which is not open");
                    Assert.Equal(owner, subagent);
                    if (type == "TEXT_MESSAGE_END")
                    {
                        text.Remove(id!);
                    }

                    break;
                case "REASONING_START":
                    Assert.True(spans.Add(id!), $"reasoning span {id} started twice");
                    break;
                case "REASONING_END":
                    Assert.True(spans.Remove(id!), $"reasoning span {id} is not open");
                    break;
                case "REASONING_MESSAGE_START":
                    Assert.True(reasoning.TryAdd(id!, subagent), $"reasoning message {id} started twice");
                    break;
                case "REASONING_MESSAGE_CONTENT" or "REASONING_MESSAGE_END":
                    Assert.True(reasoning.TryGetValue(id!, out var reasoner), $"{type} for {id}, which is not open");
                    Assert.Equal(reasoner, subagent);
                    if (type == "REASONING_MESSAGE_END")
                    {
                        reasoning.Remove(id!);
                    }

                    break;
                case "RUN_FINISHED":
                    Assert.Empty(text);
                    Assert.Empty(reasoning);
                    Assert.Empty(spans);
                    Assert.Empty(subagents);
                    break;
            }

            Assert.DoesNotContain(evt, p => p.Value is null);
        }
    }

    public static string Type(JsonObject evt) => evt["type"]!.GetValue<string>();

    /// <summary>Each text message's content as the client assembles it, by message id.</summary>
    public static Dictionary<string, string> Texts(IEnumerable<JsonObject> events, string contentType = "TEXT_MESSAGE_CONTENT")
    {
        var texts = new Dictionary<string, string>();
        foreach (var evt in events.Where(e => Type(e) == contentType))
        {
            var id = evt["messageId"]!.GetValue<string>();
            texts[id] = texts.GetValueOrDefault(id, "") + evt["delta"]!.GetValue<string>();
        }

        return texts;
    }
}
