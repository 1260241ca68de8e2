using System.Text;
using Felix.Bench.Contracts;
using Felix.Bench.Load;

namespace Felix.Tests.Bench;

/// <summary>How the bare servers replay a paced run's trace: in what order, up to when, and with what timestamps.</summary>
public sealed class PacedTraceTests
{
    private static TracedFrame Frame(long offsetMicros, string text) => new(offsetMicros, Encoding.UTF8.GetBytes(text));

    private static string Text(ScheduledFrame frame) => Encoding.UTF8.GetString(frame.Data);

    [Fact]
    public void WorkflowsInterleaveByOffsetAndEachKeepsItsOwnOrder()
    {
        // Workflow 0's third frame has no timestamp and was placed at its receipt, before the second's publish time.
        var trace = new PacedTrace("raw", [[Frame(0, "a1"), Frame(3000, "a2"), Frame(2500, "a3"), Frame(5000, "a4")], [Frame(1000, "b1"), Frame(4000, "b2")]]);

        var schedule = trace.Schedule();

        Assert.Equal(["a1", "b1", "a2", "a3", "b2", "a4"], schedule.Select(Text));
        Assert.Equal([0L, 1000, 3000, 3000, 4000, 5000], schedule.Select(f => f.OffsetMicros));
        Assert.Equal([0, 1, 0, 0, 1, 0], schedule.Select(f => f.Workflow));
    }

    [Fact]
    public void AWarmUpReplaysOnlyTheFramesDueBeforeItsEnd()
    {
        var trace = new PacedTrace("raw", [[Frame(0, "a1"), Frame(1_999_999, "a2"), Frame(2_000_000, "a3")], [Frame(2_500_000, "b1")]]);

        Assert.Equal(["a1", "a2"], trace.Schedule(TimeSpan.FromSeconds(2)).Select(Text));
        Assert.Equal(4, trace.Schedule().Count);
    }

    [Fact]
    public void ARestampChangesOnlyTheTimestamp()
    {
        const string Before = "{\"type\":\"agent_output_delta\",\"delta\":\"\\\"timestamp\\\"\",\"timestamp\":\"2026-01-02T03:04:05.000006Z\",\"sequence\":7}";
        var frame = Encoding.UTF8.GetBytes(Before);
        var now = new DateTime(2026, 12, 5, 20, 30, 1, DateTimeKind.Utc).AddTicks(1234560);

        Assert.True(WireStamp.TryRestamp(frame, now));

        Assert.Equal(Before.Replace("2026-01-02T03:04:05.000006Z", "2026-12-05T20:30:01.123456Z", StringComparison.Ordinal), Encoding.UTF8.GetString(frame));
        Assert.Equal(now.Ticks, WireTimestamp.FindInJson(frame));
    }

    [Fact]
    public void AFrameWithoutATimestampIsLeftAlone()
    {
        var frame = Encoding.UTF8.GetBytes("{\"type\":\"ping\",\"timestamp\":\"soon\"}");

        Assert.False(WireStamp.TryRestamp(frame, DateTime.UtcNow));
        Assert.Equal("{\"type\":\"ping\",\"timestamp\":\"soon\"}", Encoding.UTF8.GetString(frame));
    }

    [Fact]
    public async Task ATraceFileKeepsTheBytesAndOffsets()
    {
        var path = Path.GetTempFileName();
        try
        {
            await new PacedTrace("messagepack", [[new TracedFrame(42, [0x02, 0x91, 0x06])]]).WriteAsync(path);

            var read = await PacedTrace.ReadAsync(path);

            Assert.Equal("messagepack", read.Transport);
            Assert.Equal(42, read.Workflows[0][0].OffsetMicros);
            Assert.Equal([0x02, 0x91, 0x06], read.Workflows[0][0].Data);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
