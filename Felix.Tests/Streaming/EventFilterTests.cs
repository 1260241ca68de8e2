using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Streaming;

namespace Felix.Tests.Streaming;

/// <summary>
/// The filter behind the raw stream's <c>types</c>, <c>agent_id</c> and <c>min_confidence</c> and the hub's
/// <c>StreamEventsWithOptions</c>: each rule alone, on every event type that carries an agent, and the parsing of the
/// lists the clients send. <c>Compat/CompatFilterTests</c> drives the same rules through a socket.
/// </summary>
public sealed class EventFilterTests
{
    private const string WorkflowId = "wf";

    [Fact]
    public void TheFilterOfNothingLetsEveryEventThrough()
    {
        Assert.All(EveryKindOfEvent("b", confidence: 0), evt => Assert.True(EventFilter.All.Matches(evt), evt.Type));
    }

    [Fact]
    public void TypesKeepOnlyTheEventsOfThoseTypes()
    {
        var filter = new EventFilter(new HashSet<string> { EventTypes.AgentOutput, EventTypes.WorkflowComplete }, null, null);

        Assert.Equal(
            [EventTypes.AgentOutput, EventTypes.WorkflowComplete],
            EveryKindOfEvent("a", confidence: 1).Where(filter.Matches).Select(e => e.Type));
    }

    [Fact]
    public void AgentIdsDropEveryEventOfAnotherAgentAndKeepTheEventsWithoutAnAgent()
    {
        var filter = new EventFilter(null, new HashSet<string> { "a" }, null);

        Assert.All(EveryKindOfEvent("a", confidence: 1), evt => Assert.True(filter.Matches(evt), evt.Type));
        Assert.Equal(
            [EventTypes.WorkflowStatus, EventTypes.SynthesisStarted, EventTypes.WorkflowComplete],
            EveryKindOfEvent("b", confidence: 1).Where(filter.Matches).Select(e => e.Type));
    }

    [Theory]
    [InlineData(0.69, false)]
    [InlineData(0.7, true)]
    [InlineData(0.71, true)]
    public void AMinimumConfidenceHoldsAgentOutputsOnlyAndKeepsOneExactlyAtIt(double confidence, bool kept)
    {
        var filter = new EventFilter(null, null, 0.7);

        var events = EveryKindOfEvent("a", confidence);
        Assert.Equal(kept, filter.Matches(events.OfType<AgentOutputEvent>().Single()));
        Assert.All(events.Where(e => e is not AgentOutputEvent), evt => Assert.True(filter.Matches(evt), evt.Type));
    }

    [Fact]
    public void TheRulesTogetherKeepOnlyWhatPassesEach()
    {
        var filter = new EventFilter(new HashSet<string> { EventTypes.AgentOutput, EventTypes.WorkflowStatus }, new HashSet<string> { "a" }, 0.5);

        Assert.True(filter.Matches(Output("a", 0.9)));
        Assert.False(filter.Matches(Output("b", 0.9)));
        Assert.False(filter.Matches(Output("a", 0.1)));
        Assert.True(filter.Matches(new WorkflowStatusEvent { WorkflowId = WorkflowId, Status = WorkflowStatuses.Running }));
        Assert.False(filter.Matches(new AgentSpawnedEvent { WorkflowId = WorkflowId, AgentId = "a" }));
    }

    [Fact]
    public void TypeListsAreSplitOnCommasTrimmedAndCheckedAgainstTheKnownTypes()
    {
        var absent = new HashSet<string> { EventTypes.WorkflowStatus };

        Assert.Same(absent, EventFilter.ParseTypes(null, absent));
        Assert.Same(absent, EventFilter.ParseTypes([], absent));
        Assert.Same(absent, EventFilter.ParseTypes([" , ", ""], absent));
        Assert.Null(EventFilter.ParseTypes([], null));
        Assert.Null(EventFilter.ParseTypes(["agent_output", "all"], absent));
        Assert.Equal(
            new HashSet<string> { EventTypes.AgentOutput, EventTypes.WorkflowComplete, EventTypes.AgentSpawned },
            EventFilter.ParseTypes([" agent_output ,workflow_complete", "agent_spawned"], absent));

        var unknown = Assert.Throws<ArgumentException>(() => EventFilter.ParseTypes(["agent_output,agent_exploded"], absent));
        Assert.Contains("'agent_exploded'", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("agent_output, agent_output_delta, agent_reasoning_delta", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("or 'all'", unknown.Message, StringComparison.Ordinal);

        // "all" does not excuse a misspelt name beside it.
        Assert.Contains("'agent_exploded'", Assert.Throws<ArgumentException>(() => EventFilter.ParseTypes(["all,agent_exploded"], absent)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => EventFilter.ParseTypes(["all", "bogus"], absent));

        // Names are case-sensitive, "all" too.
        Assert.Throws<ArgumentException>(() => EventFilter.ParseTypes(["ALL"], absent));
        Assert.Throws<ArgumentException>(() => EventFilter.ParseTypes(["Agent_Output"], absent));
    }

    [Fact]
    public void ListsAreSplitOnCommasTrimmedAndAnEmptyOneIsNone()
    {
        Assert.Null(EventFilter.ParseList(null));
        Assert.Null(EventFilter.ParseList([]));
        Assert.Null(EventFilter.ParseList([" , ", ""]));
        Assert.Equal(new HashSet<string> { "a", "b", "c" }, EventFilter.ParseList([" a, b", "c", "a"]));
        Assert.False(EventFilter.ParseList(["a"])!.Contains("A"));
    }

    private static AgentOutputEvent Output(string agentId, double confidence) =>
        new() { WorkflowId = WorkflowId, AgentId = agentId, Content = "text", Confidence = confidence };

    /// <summary>One event of each kind the filter tells apart, those that carry an agent carrying <paramref name="agentId"/>.</summary>
    private static List<WorkflowEvent> EveryKindOfEvent(string agentId, double confidence) =>
    [
        new WorkflowStatusEvent { WorkflowId = WorkflowId, Status = WorkflowStatuses.Running },
        new AgentSpawnedEvent { WorkflowId = WorkflowId, AgentId = agentId },
        new AgentOutputDeltaEvent { WorkflowId = WorkflowId, AgentId = agentId, Delta = "t" },
        new AgentReasoningDeltaEvent { WorkflowId = WorkflowId, AgentId = agentId, Delta = "r" },
        Output(agentId, confidence),
        new AgentCompletedEvent { WorkflowId = WorkflowId, AgentId = agentId },
        new SynthesisStartedEvent { WorkflowId = WorkflowId },
        new WorkflowCompleteEvent { WorkflowId = WorkflowId },
    ];
}
