using Felix.Contracts.Events;

namespace Felix.Tests.Storage;

/// <summary>What every history must look like however often its run was interrupted and resumed.</summary>
internal static class DurableHistory
{
    /// <summary>
    /// One epoch, contiguous sequences from 1, exactly one terminal event and it is last; each agent spawned and committed
    /// once; <c>synthesis_started</c> once, counting every agent spawned.
    /// </summary>
    public static void AssertOneRun(IReadOnlyList<WorkflowEvent> events)
    {
        Assert.NotEmpty(events);
        Assert.Single(events.Select(e => e.Epoch).Distinct());
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.Single(events, e => e.IsTerminal);
        Assert.True(events[^1].IsTerminal, $"the stream ends with {events[^1].Type}, not its terminal event");
        var spawned = events.OfType<AgentSpawnedEvent>().Select(e => e.AgentId).ToList();
        Assert.Equal(spawned.Distinct(), spawned);
        Assert.Equal(spawned, events.OfType<AgentOutputEvent>().Select(e => e.AgentId));
        var synthesis = Assert.Single(events.OfType<SynthesisStartedEvent>());
        Assert.Equal(spawned.Count, synthesis.AgentCount);
    }
}
