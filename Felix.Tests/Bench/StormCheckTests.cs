using System.Text;
using Felix.Bench.Load;

namespace Felix.Tests.Bench;

/// <summary>The reconnect storm's verdict on a client's events: what it calls a gap, a duplicate, a client left behind.</summary>
public sealed class StormCheckTests
{
    private static readonly StoredHistory History = new(Enumerable.Range(1, 6).Select(i => new StoredEvent(i, $"e1-{i}", i == 1 ? "workflow_status" : "agent_output_delta")));

    private static List<StormEvent> Received(params long[] sequences) =>
        sequences.Select(s => new StormEvent(s, s == 1 ? "workflow_status" : "agent_output_delta")).ToList();

    [Fact]
    public void TheStoredHistoryUpToTheClientsLastEventIsExact()
    {
        var verdict = StormVerdict.Of(Received(1, 2, 3, 4, 5), "e1", History, mustReach: 5);

        Assert.True(verdict.Exact);
        Assert.Equal(5, verdict.Checked);
    }

    [Fact]
    public void AResumeThatSkipsOrRepeatsIsAGapOrADuplicate()
    {
        var gap = StormVerdict.Of(Received(1, 2, 5, 6), "e1", History, mustReach: 6);
        var duplicate = StormVerdict.Of(Received(1, 2, 3, 2, 3, 4), "e1", History, mustReach: 4);
        var lateStart = StormVerdict.Of(Received(2, 3), "e1", History, mustReach: 3);

        Assert.Equal((2, 0), (gap.Missing, gap.Duplicates));
        Assert.Equal((0, 2), (duplicate.Missing, duplicate.Duplicates));
        Assert.Equal(1, lateStart.Missing);
        Assert.False(gap.Exact || duplicate.Exact || lateStart.Exact);
    }

    [Fact]
    public void AnotherEpochOrTypeOrAPositionNotStoredIsAMismatch()
    {
        Assert.Equal(4, StormVerdict.Of(Received(1, 2, 3, 4), "e2", History, mustReach: 4).Mismatches);
        Assert.Equal(1, StormVerdict.Of([new StormEvent(1, "agent_output")], "e1", History, mustReach: 1).Mismatches);
        Assert.Equal(1, StormVerdict.Of(Received(1, 2, 3, 4, 5, 6, 7), "e1", History, mustReach: 6).Mismatches);
    }

    [Fact]
    public void AClientShortOfThePositionStoredBeforeItStoppedIsBehind()
    {
        Assert.True(StormVerdict.Of(Received(1, 2, 3), "e1", History, mustReach: 4).Behind);
        Assert.True(StormVerdict.Of([], null, History, mustReach: 1).Behind);
        Assert.False(StormVerdict.Of([], null, new StoredHistory([]), mustReach: 0).Behind);
    }

    [Fact]
    public void ReadsTheFieldsOfARawFrameFromItsTopLevelOnly()
    {
        var frame = StormFrame.Parse(Encoding.UTF8.GetBytes(
            """{"type":"agent_output","agent":{"sequence":99,"type":"x"},"sequence":7,"epoch":"e1","event_id":"e1-7","items":[1,{"epoch":"no"}]}"""));
        var snapshot = StormFrame.Parse(Encoding.UTF8.GetBytes(
            """{"type":"workflow_status","status":"running","epoch":"e1","last_sequence":12,"replayed_from_start":true}"""));

        Assert.Equal(new StormFrame("agent_output", 7, "e1-7", "e1", -1, false), frame);
        Assert.True(frame.IsEvent);
        Assert.Equal(new StormFrame("workflow_status", 0, null, "e1", 12, true), snapshot);
        Assert.False(snapshot.IsEvent);
    }
}
