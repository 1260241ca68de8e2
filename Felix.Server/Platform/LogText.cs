using System.Globalization;
using System.Text;

namespace Felix.Server.Platform;

/// <summary>Text a client chose, made safe for a log line: control characters escaped, length capped.</summary>
internal static class LogText
{
    /// <summary>A log line is for reading; an id or a message longer than this is cut.</summary>
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
            // NUL, newlines, escape sequences and the like would forge or break lines in a terminal or a log file.
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
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
}
