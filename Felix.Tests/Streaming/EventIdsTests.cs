using Felix.Server.Streaming;

namespace Felix.Tests.Streaming;

/// <summary>
/// Event ids, <c>{epoch}-{sequence}</c>, as the raw stream's <c>last_event_id</c> and the AG-UI position carry them back:
/// what is read as a position and what is refused. Epochs are eight hex digits, but an id is split at its last dash.
/// </summary>
public sealed class EventIdsTests
{
    [Theory]
    [InlineData("0a1b2c3d-7", "0a1b2c3d", 7L)]
    [InlineData("0a1b2c3d-0", "0a1b2c3d", 0L)]
    [InlineData("e-123456789012", "e", 123456789012L)]
    [InlineData("with-dashes-5", "with-dashes", 5L)]
    public void AnIdIsItsEpochAndTheSequenceAfterItsLastDash(string id, string epoch, long sequence)
    {
        Assert.True(EventIds.TryParse(id, out var parsedEpoch, out var parsedSequence));
        Assert.Equal((epoch, sequence), (parsedEpoch, parsedSequence));
        Assert.Equal(id, EventIds.Format(epoch, sequence));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("7")]
    [InlineData("-7")]
    [InlineData("0a1b2c3d-")]
    [InlineData("0a1b2c3d-x")]
    [InlineData("0a1b2c3d-7x")]
    [InlineData("0a1b2c3d-99999999999999999999")]
    public void AnythingElseIsNoPositionAndLeavesTheOutputsEmpty(string? id)
    {
        Assert.False(EventIds.TryParse(id, out var epoch, out var sequence));
        Assert.Equal(("", 0L), (epoch, sequence));
    }

    [Fact]
    public void ANewEpochIsEightLowercaseHexDigitsAndEachIsNew()
    {
        var epochs = Enumerable.Range(0, 20).Select(_ => EventIds.NewEpoch()).ToList();

        Assert.All(epochs, e => Assert.Matches("^[0-9a-f]{8}$", e));
        Assert.Equal(epochs.Count, epochs.Distinct().Count());
    }
}
