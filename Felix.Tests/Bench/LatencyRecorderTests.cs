using Felix.Bench.Load;

namespace Felix.Tests.Bench;

public sealed class LatencyRecorderTests
{
    [Fact]
    public void PercentilesAreNearestRankInMilliseconds()
    {
        var recorder = new LatencyRecorder(1000);
        for (var micros = 100; micros >= 1; micros--)
        {
            recorder.Record(micros * 1000L);
        }

        Assert.Equal([50.0, 99.0, 100.0], recorder.Percentiles(50, 99, 100));
    }

    [Fact]
    public void SamplesPastTheCapacityAreCountedButNotKept()
    {
        var recorder = new LatencyRecorder(2);
        recorder.Record(1000);
        recorder.Record(2000);
        recorder.Record(1_000_000);

        Assert.Equal(3, recorder.Count);
        Assert.Equal([2.0], recorder.Percentiles(100));
    }

    [Fact]
    public void NoSamplesGiveNaN() => Assert.True(double.IsNaN(new LatencyRecorder(4).Percentiles(50)[0]));
}
