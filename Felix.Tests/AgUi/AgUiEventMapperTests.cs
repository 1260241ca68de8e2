using System.Text.Json;
using System.Text.Json.Nodes;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Felix.Server.AgUi;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.AgUi;

/// <summary>
/// The AG-UI mapping on a recorded history (an offline run of two agents, <c>recorded-history.json</c>, as
/// <c>GET /api/v1/workflows/{id}/events</c> gave it) and on small made-up ones: the events the reference client's order
/// rules accept, each subagent's text equal to its agent's output, the synthesis last, and resuming after any event
/// giving exactly the rest.
/// </summary>
public sealed class AgUiEventMapperTests
{
    private const string Thread = "thread-1";
    private const string Run = "run-1";

    private static readonly JsonSerializerOptions HistoryJson = FelixSerialization.CreateSnakeCaseOptions().AddFelixConverters();

    private static readonly Lazy<List<WorkflowEvent>> Recorded = new(() => JsonSerializer.Deserialize<List<WorkflowEvent>>(
        File.ReadAllText(Path.Combine(ChildProcess.RepositoryRoot, "Felix.Tests", "AgUi", "recorded-history.json")), HistoryJson)!);

    [Fact]
    public void RecordedRunMapsToOneValidRunWithASubagentPerAgentAndTheSynthesisAsTheLastMessage()
    {
        var history = Recorded.Value;
        var workflowId = history[0].WorkflowId;

        var frames = Map(history, null);
        var events = frames.Select(f => f.Event).ToList();

        AgUiProtocolRules.AssertValidRun(events);
        Assert.Equal(["RUN_STARTED", "STATE_SNAPSHOT"], events.Take(2).Select(AgUiProtocolRules.Type));
        Assert.All(frames.Skip(2), f => Assert.NotNull(f.Position));
        var spawned = history.OfType<AgentSpawnedEvent>().ToList();
        var started = events.Where(e => AgUiProtocolRules.Type(e) == "SUBAGENT_STARTED").ToList();
        Assert.Equal(spawned.Select(s => $"{workflowId}.{s.AgentId}"), started.Select(s => s["subagentRunId"]!.GetValue<string>()));
        Assert.Equal(spawned.Select(s => s.AgentType), started.Select(s => s["name"]!.GetValue<string>()));
        var texts = AgUiProtocolRules.Texts(events);
        foreach (var output in history.OfType<AgentOutputEvent>())
        {
            Assert.Equal(output.Content, texts[$"{workflowId}.{output.AgentId}.text"]);
        }

        var reasoning = AgUiProtocolRules.Texts(events, "REASONING_MESSAGE_CONTENT");
        Assert.Equal(
            string.Concat(history.OfType<AgentReasoningDeltaEvent>().Where(d => d.AgentId == spawned[0].AgentId).Select(d => d.Delta)),
            reasoning[$"{workflowId}.{spawned[0].AgentId}.reasoning"]);
        var complete = Assert.IsType<WorkflowCompleteEvent>(history[^1]);
        var lastStart = events.Last(e => AgUiProtocolRules.Type(e) == "TEXT_MESSAGE_START");
        Assert.Equal($"{workflowId}.synthesis", lastStart["messageId"]!.GetValue<string>());
        Assert.Null(lastStart["subagentRunId"]);
        Assert.Equal(complete.Synthesis.Content, texts[$"{workflowId}.synthesis"]);
        var finished = events[^1];
        Assert.Equal("RUN_FINISHED", AgUiProtocolRules.Type(finished));
        Assert.Equal("success", finished["outcome"]!["type"]!.GetValue<string>());
        Assert.Equal(complete.Synthesis.Confidence, finished["result"]!["confidence"]!.GetValue<double>());
        var usage = Assert.Single(finished["usage"]!.AsArray())!;
        Assert.Equal(complete.Usage!.PromptTokens, usage["inputTokens"]!.GetValue<long>());
        Assert.Equal(complete.Usage.CompletionTokens, usage["outputTokens"]!.GetValue<long>());
        Assert.Equal(complete.Usage.TotalTokens, usage["totalTokens"]!.GetValue<long>());
    }

    [Fact]
    public void StateCarriesHelixPositionsProgressAndTheOutcome()
    {
        var history = Recorded.Value;

        var state = ClientState(Map(history, null).Select(f => f.Event));

        Assert.Equal("completed", state["status"]!.GetValue<string>());
        foreach (var spawned in history.OfType<AgentSpawnedEvent>())
        {
            var agent = state["agents"]![spawned.AgentId]!;
            Assert.Equal(spawned.SpawnTime, agent["position"]!.GetValue<double>());
            Assert.Equal(spawned.AgentType, agent["role"]!.GetValue<string>());
            Assert.Equal("completed", agent["status"]!.GetValue<string>());
        }

        var progress = history.OfType<WorkflowProgressEvent>().Last();
        Assert.Equal(progress.Percent, state["progress"]!["percent"]!.GetValue<double>());
        Assert.Equal(progress.EtaSeconds, state["progress"]!["etaSeconds"]!.GetValue<double>());
        Assert.Equal("completed", state["synthesis"]!["status"]!.GetValue<string>());
        var documented = JsonNode.Parse(Assert.Single(Docs.DocCodeBlock.InFile("docs/agui.md"), b => b.Language == "json" && b.Code.Contains("\"agents\"", StringComparison.Ordinal)).Code)!;
        Assert.Equal(Members(documented), Members(state));
    }

    /// <summary>The state's member paths, with the agents' ids replaced by <c>*</c>.</summary>
    private static SortedSet<string> Members(JsonNode node, string path = "")
    {
        var members = new SortedSet<string>(StringComparer.Ordinal);
        if (node is JsonObject obj)
        {
            foreach (var (name, value) in obj)
            {
                var member = path == "/agents" ? $"{path}/*" : $"{path}/{name}";
                members.Add(member);
                members.UnionWith(Members(value!, member));
            }
        }

        return members;
    }

    [Fact]
    public void ResumingAfterAnyEventSendsExactlyTheRestAndReopensWhatWasOpen()
    {
        var history = Recorded.Value;
        var full = Map(history, null);
        var positioned = full.Where(f => f.Position is not null).ToList();

        for (var i = 0; i < positioned.Count; i++)
        {
            var resumed = Map(history, positioned[i].Position);

            AgUiProtocolRules.AssertValidRun(resumed.Select(f => f.Event).ToList());
            Assert.Equal(
                positioned.Skip(i + 1).Select(f => (f.Position, f.Event.ToJsonString())),
                resumed.Where(f => f.Position is not null).Select(f => (f.Position, f.Event.ToJsonString())));
            var seen = full.Take(full.IndexOf(positioned[i]) + 1).Concat(resumed).Select(f => f.Event).ToList();
            Assert.Equal(AgUiProtocolRules.Texts(full.Select(f => f.Event)), AgUiProtocolRules.Texts(seen));
            Assert.Equal(ClientState(full.Select(f => f.Event)).ToJsonString(), ClientState(seen).ToJsonString());
        }
    }

    [Fact]
    public void ResumingFromTheMessagesTheClientHoldsSendsNoTextTwiceAndMissesNothing()
    {
        var history = Recorded.Value;
        var full = Map(history, null);

        for (var i = 2; i < full.Count; i++)
        {
            var had = full.Take(i).Select(f => f.Event).ToList();
            var held = AgUiProtocolRules.Texts(had).Concat(AgUiProtocolRules.Texts(had, "REASONING_MESSAGE_CONTENT")).ToDictionary();

            var resumed = Map(history, null, held);

            AgUiProtocolRules.AssertValidRun(resumed.Select(f => f.Event).ToList());
            var seen = had.Concat(resumed.Select(f => f.Event)).ToList();
            Assert.Equal(AgUiProtocolRules.Texts(full.Select(f => f.Event)), AgUiProtocolRules.Texts(seen));
            Assert.Equal(
                AgUiProtocolRules.Texts(full.Select(f => f.Event), "REASONING_MESSAGE_CONTENT"),
                AgUiProtocolRules.Texts(seen, "REASONING_MESSAGE_CONTENT"));
            Assert.Equal(ClientState(full.Select(f => f.Event)).ToJsonString(), ClientState(seen).ToJsonString());
        }
    }

    [Fact]
    public void APositionFromAnotherEpochReplaysTheWholeRunAndSaysSo()
    {
        var history = Recorded.Value;

        var resumed = Map(history, new AgUiPosition("00000000", 40, 0));

        Assert.True(resumed[0].Event["metadata"]!["felix"]!["replayedFromStart"]!.GetValue<bool>());
        Assert.Equal(
            Map(history, null).Where(f => f.Position is not null).Select(f => f.Position),
            resumed.Where(f => f.Position is not null).Select(f => f.Position));
    }

    [Fact]
    public void AFailedWorkflowErrorsItsOpenSubagentAndEndsWithRunError()
    {
        var events = Map(
        [
            Status("pending"), Status("running"), Spawned("research_001"),
            new AgentOutputDeltaEvent { AgentId = "research_001", Delta = "Half a tho" },
            new WorkflowErrorEvent { Error = "The language model endpoint answered HTTP 500." },
        ], null).Select(f => f.Event).ToList();

        Assert.Equal(
            ["RUN_STARTED", "STATE_SNAPSHOT", "STATE_DELTA", "STATE_DELTA", "SUBAGENT_STARTED", "STATE_DELTA", "TEXT_MESSAGE_START",
             "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "SUBAGENT_ERROR", "STATE_DELTA", "RUN_ERROR"],
            events.Select(AgUiProtocolRules.Type));
        Assert.Equal("The language model endpoint answered HTTP 500.", events[^1]["message"]!.GetValue<string>());
        Assert.Equal("workflow_error", events[^1]["code"]!.GetValue<string>());
    }

    [Fact]
    public void ACancelledWorkflowFinishesTheRunWithOutcomeCancelled()
    {
        var events = Map([Status("pending"), Status("running"), Spawned("research_001"), Status("cancelled")], null)
            .Select(f => f.Event).ToList();

        AgUiProtocolRules.AssertValidRun(events);
        Assert.Equal("SUBAGENT_ERROR", AgUiProtocolRules.Type(events[^3]));
        Assert.Equal("cancelled", events[^1]["outcome"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public void AnInterruptSuspendsTheOpenSubagentsAndFinishesWithOutcomeInterrupt()
    {
        var run = new AgUiRun(Thread, Run, "wf_1", null);
        var frames = run.Begin().Concat(run.Next(Status("running"))).Concat(run.Next(Spawned("critic_001"))).ToList();

        frames.AddRange(run.Interrupt(new AgUiInterrupt("apr_1", "approval", "Approve the critic's plan?", DateTimeOffset.UnixEpoch)));

        var events = frames.Select(f => f.Event).ToList();
        AgUiProtocolRules.AssertValidRun(events);
        Assert.Equal("suspended", events[^2]["outcome"]!["type"]!.GetValue<string>());
        var interrupt = Assert.Single(events[^1]["outcome"]!["interrupts"]!.AsArray())!;
        Assert.Equal(("apr_1", "approval", "1970-01-01T00:00:00.000000Z"),
            (interrupt["id"]!.GetValue<string>(), interrupt["reason"]!.GetValue<string>(), interrupt["expiresAt"]!.GetValue<string>()));
        Assert.True(run.Finished);
    }

    [Fact]
    public void AnApprovalRequestLeftPendingEndsTheRunWithTheDocumentedInterruptAndSuspendsItsSubagent()
    {
        var request = new ApprovalRequestedEvent
        {
            ApprovalId = "apr_critic_001_1", Kind = "agent_output", AgentId = "critic_001", Content = "The plan", Confidence = 0.4,
            Options = ["approve", "reject", "revise"], ExpiresAt = "2026-12-05T11:00:00.000000Z",
        };
        var history = new List<WorkflowEvent> { Status("running"), Spawned("critic_001"), request, Status("awaiting_approval") };
        Stamp(history);
        var run = new AgUiRun(Thread, Run, "wf_1", null);
        List<AgUiFrame> frames = [.. run.Begin(), .. history.SelectMany(run.Next)];

        frames.AddRange(run.Interrupt(AgUiApprovals.Interrupt("wf_1", run.PendingApproval!)));

        var events = frames.Select(f => f.Event).ToList();
        AgUiProtocolRules.AssertValidRun(events);
        Assert.Equal("pending", events.Last(e => AgUiProtocolRules.Type(e) == "STATE_DELTA" && e["delta"]![0]!["path"]!.GetValue<string>() == "/approval")
            ["delta"]![0]!["value"]!["status"]!.GetValue<string>());
        Assert.Equal("wf_1.apr_critic_001_1", events[^2]["outcome"]!["interruptIds"]![0]!.GetValue<string>());
        var interrupt = Assert.Single(events[^1]["outcome"]!["interrupts"]!.AsArray())!;
        Assert.Equal(("wf_1.apr_critic_001_1", "wf_1.critic_001", "The plan", request.ExpiresAt),
            (interrupt["id"]!.GetValue<string>(), interrupt["subagentRunId"]!.GetValue<string>(),
                interrupt["metadata"]!["felix"]!["content"]!.GetValue<string>(), interrupt["expiresAt"]!.GetValue<string>()));
        var documented = JsonNode.Parse(Assert.Single(Docs.DocCodeBlock.InFile("docs/agui.md"), b => b.Language == "json" && b.Code.Contains("\"interrupts\"", StringComparison.Ordinal)).Code)!;
        var members = Members(interrupt);
        members.ExceptWith(["/subagentRunId", "/metadata/felix/agentId"]); // the documented one is the synthesis's
        Assert.Equal(Members(documented["outcome"]!["interrupts"]![0]!), members);
    }

    [Fact]
    public void AResolvedApprovalIsNoLongerPending()
    {
        var run = new AgUiRun(Thread, Run, "wf_1", null);
        var history = new List<WorkflowEvent>
        {
            Status("running"), new ApprovalRequestedEvent { ApprovalId = "apr_synthesis_1", Kind = "synthesis" }, Status("awaiting_approval"),
            new ApprovalResolvedEvent { ApprovalId = "apr_synthesis_1", Decision = "approve", DecidedBy = "alice" }, Status("running"),
        };
        Stamp(history);

        var events = run.Begin().Concat(history.Take(3).SelectMany(run.Next)).ToList();
        Assert.Equal("apr_synthesis_1", run.PendingApproval?.ApprovalId);
        events.AddRange(history.Skip(3).SelectMany(run.Next));

        Assert.Null(run.PendingApproval);
        Assert.False(run.Finished);
        var approval = events.Select(f => f.Event).Last(e => e["delta"]?[0]?["path"]?.GetValue<string>() == "/approval")["delta"]![0]!["value"]!;
        Assert.Equal(("resolved", "approve", "alice"),
            (approval["status"]!.GetValue<string>(), approval["decision"]!.GetValue<string>(), approval["decidedBy"]!.GetValue<string>()));
    }

    private static List<AgUiFrame> Map(IReadOnlyList<WorkflowEvent> history, AgUiPosition? resumeAfter, IReadOnlyDictionary<string, string>? held = null)
    {
        Stamp(history);
        var run = new AgUiRun(Thread, Run, history[0].WorkflowId, resumeAfter, held);
        var frames = run.Begin().ToList();
        foreach (var evt in history)
        {
            frames.AddRange(run.Next(evt));
        }

        frames.AddRange(run.CaughtUp());
        return frames;
    }

    /// <summary>The shared state as the client holds it: the last snapshot with every later delta applied.</summary>
    private static JsonObject ClientState(IEnumerable<JsonObject> events)
    {
        var state = new JsonObject();
        foreach (var evt in events)
        {
            if (AgUiProtocolRules.Type(evt) == "STATE_SNAPSHOT")
            {
                state = evt["snapshot"]!.DeepClone().AsObject();
            }
            else if (AgUiProtocolRules.Type(evt) == "STATE_DELTA")
            {
                foreach (var op in evt["delta"]!.AsArray())
                {
                    Assert.Equal("add", op!["op"]!.GetValue<string>());
                    var tokens = op["path"]!.GetValue<string>().Split('/').Skip(1).ToArray();
                    var target = state;
                    foreach (var token in tokens[..^1])
                    {
                        target = Assert.IsType<JsonObject>(target[token], exactMatch: false);
                    }

                    target[tokens[^1]] = op["value"]?.DeepClone();
                }
            }
        }

        return state;
    }

    /// <summary>Gives made-up events the positions and timestamp a stream would.</summary>
    private static void Stamp(IReadOnlyList<WorkflowEvent> history)
    {
        for (var i = 0; i < history.Count && history[i].Epoch.Length == 0; i++)
        {
            history[i].Sequence = i + 1;
            history[i].Epoch = "e1";
            history[i].WorkflowId = "wf_1";
            history[i].Timestamp = "2026-12-05T10:00:00.000Z";
        }
    }

    private static WorkflowStatusEvent Status(string status) => new() { Status = status };

    private static AgentSpawnedEvent Spawned(string agentId) =>
        new() { AgentId = agentId, AgentType = agentId.Split('_')[0], SpawnTime = 0.5 };
}
