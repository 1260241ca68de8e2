using System.Text;
using Felix.Bench.Load;

namespace Felix.Tests.Bench;

public sealed class WireTimestampTests
{
    [Fact]
    public void ParsesTheWireFormatToTheMicrosecond()
    {
        var expected = new DateTime(2026, 11, 26, 12, 34, 56, DateTimeKind.Utc).AddTicks(1234560);

        Assert.Equal(expected.Ticks, WireTimestamp.ParseTicks("2026-11-26T12:34:56.123456Z"));
    }

    [Fact]
    public void FindsTheTimestampFieldInASnakeCaseEvent()
    {
        var json = Encoding.UTF8.GetBytes("""{"type":"agent_output_delta","sequence":3,"timestamp":"2026-01-02T03:04:05.000006Z","delta":"x"}""");

        Assert.Equal(new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc).Ticks + 60, WireTimestamp.FindInJson(json));
    }

    [Theory]
    [InlineData("")]
    [InlineData("2026-11-26 12:34:56.123456Z")]
    [InlineData("2026-13-26T12:34:56.123456Z")]
    [InlineData("2026-11-26T12:34:5x.123456Z")]
    public void RejectsAnythingElse(string text) => Assert.Equal(-1, WireTimestamp.ParseTicks(text));
}
