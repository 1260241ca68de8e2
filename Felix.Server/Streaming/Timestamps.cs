using System.Globalization;

namespace Felix.Server.Streaming;

/// <summary>The one timestamp format on the wire: ISO-8601 UTC with microseconds, ending in <c>Z</c>.</summary>
internal static class Timestamps
{
    public static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static string Now(TimeProvider time) => Format(time.GetUtcNow());
}
