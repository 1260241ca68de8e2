using Felix.Server.Agents;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Felix.Tests.Agents;

/// <summary>The offline model's shared beat: every writer waits on one beat, and the beat stops when nobody waits.</summary>
public sealed class TokenPacerTests
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(5);

    [Fact]
    public async Task WritersWaitingTogetherShareOneBeatAndNobodyIsReleasedBeforeIt()
    {
        var time = new FakeTimeProvider();
        using var pacer = new TokenPacer(Period, time);

        var waits = Enumerable.Range(0, 100).Select(_ => pacer.NextBeatAsync()).ToList();
        time.Advance(Period - TimeSpan.FromTicks(1));
        Assert.All(waits, w => Assert.False(w.IsCompleted));

        time.Advance(TimeSpan.FromTicks(1));
        await Task.WhenAll(waits).DefaultTimeout();
        Assert.True(waits.Distinct().Count() == 1, "the writers waited on beats of their own");
    }

    [Fact]
    public async Task AWriterThatKeepsWritingGetsOneTokenPerBeat()
    {
        var time = new FakeTimeProvider();
        using var pacer = new TokenPacer(Period, time);

        for (var i = 0; i < 3; i++)
        {
            var beat = pacer.NextBeatAsync();
            Assert.False(beat.IsCompleted);
            time.Advance(Period);
            await beat.DefaultTimeout();
        }
    }

    [Fact]
    public async Task TheBeatStopsWhenNobodyWaitsAndStartsAgainForTheNextWriter()
    {
        var time = new FakeTimeProvider();
        using var pacer = new TokenPacer(Period, time);
        var first = pacer.NextBeatAsync();
        time.Advance(Period);
        await first.DefaultTimeout();

        // A beat with nobody waiting stops the timer: a later writer waits a whole period from when it asks.
        time.Advance(Period * 3.5);
        var later = pacer.NextBeatAsync();
        time.Advance(Period - TimeSpan.FromTicks(1));
        Assert.False(later.IsCompleted);
        time.Advance(TimeSpan.FromTicks(1));
        await later.DefaultTimeout();
    }
}
