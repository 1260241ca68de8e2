using Felix.Server.Hubs;
using Microsoft.Extensions.Time.Testing;

namespace Felix.Tests.Hubs;

/// <summary>Deadline tokens shared by the hub sends of one short window.</summary>
public sealed class SharedDeadlineTests
{
    [Fact]
    public void EverySendGetsAtLeastTheWholeDeadlineAndAtMostOneWindowMore()
    {
        var time = new FakeTimeProvider();
        var deadline = new SharedDeadline(TimeSpan.FromSeconds(8), time); // window: 1 s

        var first = deadline.Token;
        time.Advance(TimeSpan.FromMilliseconds(999));
        var sameWindow = deadline.Token;
        Assert.Equal(first, sameWindow);

        // The later of the two sends started 999 ms in: its 8 s are up at 8.999 s, so nothing fires before then.
        time.Advance(TimeSpan.FromMilliseconds(7999));
        Assert.False(first.IsCancellationRequested);

        time.Advance(TimeSpan.FromMilliseconds(2));
        Assert.True(first.IsCancellationRequested);
    }

    [Fact]
    public void ANewWindowGetsItsOwnToken()
    {
        var time = new FakeTimeProvider();
        var deadline = new SharedDeadline(TimeSpan.FromSeconds(8), time);

        var first = deadline.Token;
        time.Advance(TimeSpan.FromSeconds(1));
        var second = deadline.Token;
        Assert.NotEqual(first, second);

        time.Advance(TimeSpan.FromSeconds(8));
        Assert.True(first.IsCancellationRequested);
        Assert.False(second.IsCancellationRequested);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(second.IsCancellationRequested);
    }

    [Fact]
    public void AfterALongQuietSpellTheTokenIsFreshNotTheOldFiredOne()
    {
        var time = new FakeTimeProvider();
        var deadline = new SharedDeadline(TimeSpan.FromSeconds(8), time);
        var old = deadline.Token;

        time.Advance(TimeSpan.FromMinutes(5));
        var fresh = deadline.Token;

        Assert.True(old.IsCancellationRequested);
        Assert.False(fresh.IsCancellationRequested);
    }

    [Fact]
    public void AShortDeadlineSharesATokenOnlyForAnEighthOfIt()
    {
        var time = new FakeTimeProvider();
        var deadline = new SharedDeadline(TimeSpan.FromSeconds(1), time); // window: 125 ms

        var first = deadline.Token;
        time.Advance(TimeSpan.FromMilliseconds(130));
        var second = deadline.Token;

        Assert.NotEqual(first, second);
    }

    [Fact]
    public void AnInfiniteDeadlineNeverCancels()
    {
        var time = new FakeTimeProvider();
        var deadline = new SharedDeadline(Timeout.InfiniteTimeSpan, time);

        var token = deadline.Token;
        time.Advance(TimeSpan.FromDays(1));

        Assert.False(token.CanBeCanceled);
    }
}
