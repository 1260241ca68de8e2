using System.Diagnostics;
using System.Globalization;

namespace Felix.Server.Streaming;

/// <summary>The one timestamp format on the wire: ISO-8601 UTC with microseconds, ending in <c>Z</c>.</summary>
internal static class Timestamps
{
    /// <summary>
    /// <c>yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'</c>, written through the round-trip format (<c>O</c>: the same with seven
    /// digits of the second, truncated as <c>ffffff</c> truncates) and cut at six: every event is stamped, and a custom
    /// format string is parsed again on every call, where <c>O</c> has a fast path of its own.
    /// </summary>
    public static string Format(DateTimeOffset time)
    {
        Span<char> roundTrip = stackalloc char[28];
        var formatted = time.UtcDateTime.TryFormat(roundTrip, out var written, "O", CultureInfo.InvariantCulture);
        Debug.Assert(formatted && written == 28, "A UTC time's round-trip form is 28 characters.");
        roundTrip[26] = 'Z';
        return new string(roundTrip[..27]);
    }

    public static string Now(TimeProvider time) => Format(time.GetUtcNow());
}
