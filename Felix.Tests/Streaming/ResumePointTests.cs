using Felix.Server.Streaming;

namespace Felix.Tests.Streaming;

/// <summary>
/// Where a replay starts for each position a client can send, on a stream that exists or not, whole or trimmed by
/// retention. Every transport resolves its position through <see cref="ResumePoint.Resolve"/>; <c>Storage/ResumeTests</c>
/// drives the same rules end to end, these pin the edges in a few milliseconds.
/// </summary>
public sealed class ResumePointTests
{
    private const string Epoch = "ep_1";

    // Events 1 to 10 kept, none trimmed.
    private static readonly StreamState Whole = new(Epoch, LastSequence: 10, FirstSequence: 1);

    // Retention dropped events 1 to 4: 5 to 10 are kept.
    private static readonly StreamState Trimmed = new(Epoch, LastSequence: 10, FirstSequence: 5);

    [Theory]
    [InlineData(null, null, false)]
    [InlineData(null, 0L, false)]
    [InlineData(null, -3L, false)]
    [InlineData(null, 1L, true)]
    [InlineData(Epoch, null, true)]
    [InlineData("", 0L, true)]
    public void AStreamWithNothingStoredStartsAtTheBeginningFlaggedOnlyWhenThePositionNamedSomething(string? epoch, long? after, bool flagged)
    {
        Assert.Equal(new ResumePoint("", 0, 0, flagged), ResumePoint.Resolve(null, epoch, after));
    }

    [Theory]
    [InlineData(null, null, 0L)]
    [InlineData(null, 0L, 0L)]
    [InlineData(null, -5L, 0L)]
    [InlineData(null, 3L, 3L)]
    [InlineData(Epoch, 3L, 3L)]
    [InlineData(null, 9L, 9L)]
    [InlineData(Epoch, 10L, 10L)]
    public void APositionInTheStreamsEpochAndWithinItIsHonoured(string? epoch, long? after, long expectedAfter)
    {
        Assert.Equal(new ResumePoint(Epoch, expectedAfter, 10, false), ResumePoint.Resolve(Whole, epoch, after));
    }

    [Theory]
    [InlineData("ep_0", 3L)]
    [InlineData("", null)]
    [InlineData(null, 11L)]
    [InlineData(Epoch, 11L)]
    [InlineData("ep_0", 11L)]
    public void APositionFromAnotherEpochOrPastTheEndReplaysTheWholeStreamFlagged(string? epoch, long? after)
    {
        Assert.Equal(new ResumePoint(Epoch, 0, 10, true), ResumePoint.Resolve(Whole, epoch, after));
        Assert.Equal(new ResumePoint(Epoch, 0, 10, true), ResumePoint.Resolve(Trimmed, epoch, after));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData(0L, true)]
    [InlineData(3L, true)]
    [InlineData(4L, false)]
    [InlineData(7L, false)]
    public void APositionBeforeTheOldestKeptEventIsFlaggedAndOneRightBeforeItIsNot(long? after, bool flagged)
    {
        // A stream trimmed to 5..10: after 4 the next event is the oldest kept one, so nothing was missed; from the
        // start (no position, or 0) events 1 to 4 are gone, and the client is told.
        var point = ResumePoint.Resolve(Trimmed, Epoch, after);

        Assert.Equal(new ResumePoint(Epoch, after ?? 0, 10, flagged), point);
    }
}
