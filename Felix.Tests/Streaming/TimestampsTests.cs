using System.Globalization;
using Felix.Server.Streaming;

namespace Felix.Tests.Streaming;

/// <summary>
/// The wire's timestamp: ISO-8601 UTC with six digits of the second, truncated, ending in <c>Z</c>, whatever the offset
/// of the time given. Checked against the custom format it is written without.
/// </summary>
public sealed class TimestampsTests
{
    private const string WireFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    [Theory]
    [InlineData("2026-12-07T04:51:23.1234567+00:00", "2026-12-07T04:51:23.123456Z")]
    [InlineData("2026-12-07T04:51:23.9999999+00:00", "2026-12-07T04:51:23.999999Z")]
    [InlineData("2026-12-07T01:00:00.0000001+02:00", "2026-12-06T23:00:00.000000Z")]
    [InlineData("0001-01-01T00:00:00.0000000+00:00", "0001-01-01T00:00:00.000000Z")]
    [InlineData("9999-12-31T23:59:59.9999999+00:00", "9999-12-31T23:59:59.999999Z")]
    public void ATimeIsWrittenInUtcWithItsMicrosecondsTruncated(string time, string expected) =>
        Assert.Equal(expected, Timestamps.Format(DateTimeOffset.Parse(time, CultureInfo.InvariantCulture)));

    [Fact]
    public void AnyTimeReadsAsTheWireFormatWrites()
    {
        var random = new Random(20261207);
        for (var i = 0; i < 10_000; i++)
        {
            var ticks = random.NextInt64(DateTime.MinValue.Ticks + TimeSpan.TicksPerDay, DateTime.MaxValue.Ticks - TimeSpan.TicksPerDay);
            var time = new DateTimeOffset(ticks, TimeSpan.FromMinutes(random.Next(-14 * 60, 14 * 60 + 1)));
            Assert.Equal(time.UtcDateTime.ToString(WireFormat, CultureInfo.InvariantCulture), Timestamps.Format(time));
        }
    }
}
