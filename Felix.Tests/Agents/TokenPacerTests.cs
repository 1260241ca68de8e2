using System.Collections.Concurrent;
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

        var waits = await StartWritersAsync(pacer, 100);
        time.Advance(Period - TimeSpan.FromTicks(1));
        Assert.All(waits, w => Assert.False(w.IsCompleted));

        time.Advance(TimeSpan.FromTicks(1));
        await Task.WhenAll(waits).DefaultTimeout();
    }

    [Fact]
    public async Task AWriterThatKeepsWritingGetsOneTokenPerBeat()
    {
        var time = new FakeTimeProvider();
        using var pacer = new TokenPacer(Period, time);

        for (var i = 0; i < 3; i++)
        {
            var beat = (await StartWritersAsync(pacer, 1))[0];
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
        var first = (await StartWritersAsync(pacer, 1))[0];
        time.Advance(Period);
        await first.DefaultTimeout();

        // Beats with nobody waiting stop the timer: a later writer waits a whole period from when it asks.
        time.Advance(Period * (TokenPacer.IdleBeatsBeforeStop + 0.5));
        var later = (await StartWritersAsync(pacer, 1))[0];
        time.Advance(Period - TimeSpan.FromTicks(1));
        Assert.False(later.IsCompleted);
        time.Advance(TimeSpan.FromTicks(1));
        await later.DefaultTimeout();
    }

    [Fact]
    public async Task AWriterBackWithinAFewBeatsKeepsThePaceOfTheRunningBeat()
    {
        var time = new FakeTimeProvider();
        using var pacer = new TokenPacer(Period, time);
        var first = (await StartWritersAsync(pacer, 1))[0];
        time.Advance(Period);
        await first.DefaultTimeout();

        // Away for a beat and a half (a commit's wait): the beat still runs, so the next one is half a period away.
        time.Advance(Period * 1.5);
        var back = (await StartWritersAsync(pacer, 1))[0];
        time.Advance(Period * 0.5 - TimeSpan.FromTicks(1));
        Assert.False(back.IsCompleted);
        time.Advance(TimeSpan.FromTicks(1));
        await back.DefaultTimeout();
    }

    [Fact]
    public async Task OnTheSystemClockTheBeatHasAThreadOfItsOwnAndKeepsThePace()
    {
        using var pacer = new TokenPacer(Period, TimeProvider.System);
        var continuedOn = new ConcurrentQueue<(int Thread, bool Pooled)>();
        var started = TimeProvider.System.GetTimestamp();

        // Three writers, each for ten beats: every beat releases all three, one after another on the pacer's thread.
        var writers = await Task.Run(() => Enumerable.Range(0, 3).Select(async _ =>
        {
            for (var i = 0; i < 10; i++)
            {
                await pacer.NextBeat();
                continuedOn.Enqueue((Environment.CurrentManagedThreadId, Thread.CurrentThread.IsThreadPoolThread));
            }
        }).ToList());
        await Task.WhenAll(writers).DefaultTimeout();

        Assert.Equal(30, continuedOn.Count);
        Assert.Single(continuedOn.Select(c => c.Thread).Distinct());
        Assert.DoesNotContain(continuedOn, c => c.Pooled);
        // Ten tokens each take at least ten periods: no writer is released before its beat.
        Assert.True(TimeProvider.System.GetElapsedTime(started) >= Period * 10 - TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task ABeatThreadThatStartsLateReleasesNoTokenBeforeItsBeat()
    {
        // A loaded machine may run the beat's new thread only after the first writer has started the beat (here a
        // tenth of a period after it). The beats still keep the pace from the writer's start: a period for each token.
        var period = TimeSpan.FromMilliseconds(100);
        using var pacer = new TokenPacer(period, TimeProvider.System, startBeatThread: false);
        var started = TimeProvider.System.GetTimestamp();
        var writer = WriteTwoTokensAsync(pacer);
        await Task.Delay(period / 10);
        pacer.StartBeatThread();
        await writer.DefaultTimeout();

        Assert.True(TimeProvider.System.GetElapsedTime(started) >= period * 2 - TimeSpan.FromMilliseconds(1));

        static async Task WriteTwoTokensAsync(TokenPacer pacer)
        {
            await pacer.NextBeat();
            await pacer.NextBeat();
        }
    }

    [Fact]
    public async Task WritersDueAtABeatContinueOnTheBeatsThreadBeforeTheBeatReturns()
    {
        var time = new FakeTimeProvider();
        using var pacer = new TokenPacer(Period, time);
        var continuedOn = new ConcurrentQueue<int>();

        var writers = await StartWritersAsync(pacer, 3, () => continuedOn.Enqueue(Environment.CurrentManagedThreadId));
        var (beatThread, continuedBeforeReturn) = await Task.Run(() =>
        {
            time.Advance(Period);
            return (Environment.CurrentManagedThreadId, continuedOn.Count);
        });

        await Task.WhenAll(writers).DefaultTimeout();
        Assert.Equal(3, continuedBeforeReturn);
        Assert.All(continuedOn, thread => Assert.Equal(beatThread, thread));
    }

    [Fact]
    public async Task ASlowBeatsWaitEndsAtTheBeatOrEarlierAtACancel()
    {
        var time = new FakeTimeProvider();
        using var pacer = new TokenPacer(TimeSpan.FromSeconds(1), time);
        using var cancel = new CancellationTokenSource();

        var released = pacer.NextBeatAsync(CancellationToken.None);
        var cancelled = pacer.NextBeatAsync(cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled).DefaultTimeout();
        Assert.False(released.IsCompleted);

        time.Advance(TimeSpan.FromSeconds(1));
        await released.DefaultTimeout();
    }

    // Writers are started off the test's synchronisation context, as the engine's are, and are waiting when this returns.
    private static Task<List<Task>> StartWritersAsync(TokenPacer pacer, int count, Action? afterBeat = null) =>
        Task.Run(() => Enumerable.Range(0, count).Select(async _ =>
        {
            await pacer.NextBeat();
            afterBeat?.Invoke();
        }).ToList());
}
