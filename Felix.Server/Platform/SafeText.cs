using System.Globalization;
using System.Text;

namespace Felix.Server.Platform;

/// <summary>
/// Text a client chose, made safe to show in a log line or to echo in an error: control characters and bidirectional
/// formatting characters escaped as <c>\uXXXX</c>, length capped.
/// </summary>
internal static class SafeText
{
    /// <summary>A log line or an error is for reading; an id or a message longer than this is cut.</summary>
    public const int MaxLength = 200;

    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        var builder = new StringBuilder(Math.Min(text.Length, MaxLength) + 8);
        foreach (var c in text.Length > MaxLength ? text.AsSpan(0, MaxLength) : text.AsSpan())
        {
            if (MustEscape(c))
            {
                builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        return text.Length > MaxLength ? builder.Append('…').ToString() : builder.ToString();
    }

    // NUL, newlines and escape sequences forge or break lines in a terminal or a log file; bidirectional overrides and
    // isolates make the text read in another order than it was written ("pay 0001" shown as "pay 1000").
    private static bool MustEscape(char c) =>
        char.IsControl(c) || c is '\u2028' or '\u2029' or '\u061c' or '\u200e' or '\u200f'
            || c is >= '\u202a' and <= '\u202e' || c is >= '\u2066' and <= '\u2069';
}
