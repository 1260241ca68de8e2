using System.Globalization;

namespace Felix.Bench.Contracts;

/// <summary>The wire timestamp (<c>yyyy-MM-ddTHH:mm:ss.ffffffZ</c>, UTC) as a replay writes it.</summary>
public static class WireStamp
{
    public const string Format = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    public const int Length = 27;

    private static readonly byte[] FieldName = "\"timestamp\":\""u8.ToArray();

    /// <summary>
    /// Overwrites the first <c>"timestamp":"…"</c> of a snake_case JSON frame with <paramref name="utc"/>, in place: the
    /// frame keeps its length and every other byte. False when the frame has no timestamp in the wire format.
    /// </summary>
    public static bool TryRestamp(Span<byte> json, DateTime utc)
    {
        var at = json.IndexOf(FieldName);
        if (at < 0 || json.Length < at + FieldName.Length + Length + 1 || json[at + FieldName.Length + Length] != '"')
        {
            return false;
        }

        return utc.TryFormat(json.Slice(at + FieldName.Length, Length), out var written, Format, CultureInfo.InvariantCulture) && written == Length;
    }

    public static string Now() => DateTime.UtcNow.ToString(Format, CultureInfo.InvariantCulture);
}
