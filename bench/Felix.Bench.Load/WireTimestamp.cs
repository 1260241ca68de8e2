namespace Felix.Bench.Load;

/// <summary>
/// Reads the wire timestamp (<c>yyyy-MM-ddTHH:mm:ss.ffffffZ</c>, UTC) without allocating, so the generator spends its
/// share of the two cores on receiving, not on <see cref="DateTime.ParseExact(string, string, IFormatProvider)"/>.
/// </summary>
internal static class WireTimestamp
{
    public const int Length = 27;

    private static readonly byte[] FieldName = "\"timestamp\":\""u8.ToArray();

    /// <summary>UTC ticks of a timestamp, or -1 when the text is not in the wire format.</summary>
    public static long ParseTicks(ReadOnlySpan<char> text)
    {
        Span<byte> bytes = stackalloc byte[Length];
        if (text.Length < Length)
        {
            return -1;
        }

        for (var i = 0; i < Length; i++)
        {
            bytes[i] = (byte)text[i];
        }

        return ParseTicks(bytes);
    }

    public static long ParseTicks(ReadOnlySpan<byte> t)
    {
        if (t.Length < Length || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' || t[19] != '.' || t[26] != 'Z')
        {
            return -1;
        }

        try
        {
            var date = new DateTime(Digits(t, 0, 4), Digits(t, 5, 2), Digits(t, 8, 2), Digits(t, 11, 2), Digits(t, 14, 2), Digits(t, 17, 2), DateTimeKind.Utc);
            return date.Ticks + Digits(t, 20, 6) * 10L;
        }
        catch (ArgumentOutOfRangeException)
        {
            return -1;
        }
    }

    /// <summary>Finds the <c>"timestamp":"…"</c> field of a snake_case JSON event and parses it; -1 when absent.</summary>
    public static long FindInJson(ReadOnlySpan<byte> json)
    {
        var at = json.IndexOf(FieldName);
        return at < 0 ? -1 : ParseTicks(json[(at + FieldName.Length)..]);
    }

    private static int Digits(ReadOnlySpan<byte> t, int start, int count)
    {
        var value = 0;
        for (var i = start; i < start + count; i++)
        {
            var d = t[i] - '0';
            if ((uint)d > 9)
            {
                throw new ArgumentOutOfRangeException(nameof(t));
            }

            value = value * 10 + d;
        }

        return value;
    }
}
