using System.Text.Encodings.Web;

namespace Felix.Server.Streaming;

/// <summary>
/// Escapes text as the original's Python server did (<c>json.dumps(ensure_ascii=False)</c>): only what JSON requires,
/// the quote, the backslash and the C0 controls (<c>\n</c>, <c>\r</c>, <c>\t</c>, <c>\b</c>, <c>\f</c> short, the others
/// as <c>\u00XX</c> in lower case); every other character as it is, emoji included. The framework's encoders always
/// escape characters beyond the basic plane (as surrogate pairs), which Python never did. A lone surrogate, which UTF-8
/// cannot carry, is escaped so that the frame stays valid.
/// </summary>
internal sealed class PythonJsonEncoder : JavaScriptEncoder
{
    public static readonly PythonJsonEncoder Instance = new();

    private PythonJsonEncoder()
    {
    }

    public override int MaxOutputCharactersPerInputCharacter => 6;

    public override bool WillEncode(int unicodeScalar) =>
        unicodeScalar < 0x20 || unicodeScalar is '"' or '\\' || (unicodeScalar is >= 0xD800 and <= 0xDFFF);

    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
    {
        var span = new ReadOnlySpan<char>(text, textLength);
        for (var i = 0; i < span.Length; i++)
        {
            var c = span[i];
            if (c < 0x20 || c is '"' or '\\')
            {
                return i;
            }

            if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < span.Length && char.IsLowSurrogate(span[i + 1]))
                {
                    i++;
                    continue;
                }

                return i;
            }
        }

        return -1;
    }

    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        var output = new Span<char>(buffer, bufferLength);
        if (!WillEncode(unicodeScalar))
        {
            var ok = new System.Text.Rune(unicodeScalar).TryEncodeToUtf16(output, out numberOfCharactersWritten);
            return ok;
        }

        var shortEscape = unicodeScalar switch
        {
            '"' => '"',
            '\\' => '\\',
            '\n' => 'n',
            '\r' => 'r',
            '\t' => 't',
            '\b' => 'b',
            '\f' => 'f',
            _ => '\0',
        };
        if (shortEscape != '\0')
        {
            return TryWrite(output, ['\\', shortEscape], out numberOfCharactersWritten);
        }

        return TryWrite(output, $"\\u{unicodeScalar:x4}", out numberOfCharactersWritten);
    }

    private static bool TryWrite(Span<char> output, ReadOnlySpan<char> escape, out int numberOfCharactersWritten)
    {
        numberOfCharactersWritten = escape.Length;
        if (escape.TryCopyTo(output))
        {
            return true;
        }

        numberOfCharactersWritten = 0;
        return false;
    }
}
