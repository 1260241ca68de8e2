using System.Globalization;
using System.Text;

namespace Felix.Cli;

/// <summary>
/// Text from the server (task, agent output, synthesis, errors) is written by any user of the tenant: shown raw, an
/// escape sequence in it could set the terminal's title, colours or worse. Control characters (C0, DEL, C1) are shown as
/// a visible escape (<c>\x1B</c>) instead; line feeds and tabs stay where multi-line text is shown.
/// </summary>
internal static class TerminalText
{
    /// <summary>One line: every control character escaped, line breaks too.</summary>
    public static string Line(string? text) => Escape(text, multiLine: false);

    /// <summary>Several lines: line breaks (normalised to <c>\n</c>) and tabs kept, every other control character escaped.</summary>
    public static string Lines(string? text) => Escape(text?.ReplaceLineEndings("\n"), multiLine: true);

    public static bool IsControl(char c) => c < 0x20 || c is >= '\u007F' and <= '\u009F';

    private static string Escape(string? text, bool multiLine)
    {
        if (string.IsNullOrEmpty(text) || !text.Any(c => IsControl(c) && !(multiLine && c is '\n' or '\t')))
        {
            return text ?? "";
        }

        var safe = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (IsControl(c) && !(multiLine && c is '\n' or '\t'))
            {
                safe.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:X2}");
            }
            else
            {
                safe.Append(c);
            }
        }

        return safe.ToString();
    }
}
