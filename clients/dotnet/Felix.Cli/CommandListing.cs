using System.CommandLine;
using System.CommandLine.Help;
using System.Text;

namespace Felix.Cli;

/// <summary>
/// The root help's list of commands, with each optional argument in brackets (<c>approve &lt;id&gt; [&lt;approval-id&gt;]</c>),
/// as the command's own usage line shows it.
/// </summary>
/// <remarks>
/// System.CommandLine (3.0) labels every argument of a listed command <c>&lt;name&gt;</c> whatever its arity, and its help
/// builder, where a label could be changed, is internal; so the help it wrote is corrected here, the descriptions moved
/// to the column the longer labels need.
/// </remarks>
internal static class CommandListing
{
    private const string Indent = "  ";
    private const string Gap = "  ";

    /// <summary>Writes the root command's help with its command list corrected.</summary>
    public static int WriteRootHelp(ParseResult parse, HelpAction help, TextWriter output, TextWriter error)
    {
        var root = parse.CommandResult.Command;
        // The brackets widen the first column: descriptions wrapped to a terminal's width leave room for them.
        var widening = 2 * root.Subcommands.Max(c => c.Arguments.Count(a => !a.Hidden && a.Arity.MinimumNumberOfValues == 0));
        if (help.MaxWidth != int.MaxValue && help.MaxWidth > 2 * widening)
        {
            help.MaxWidth -= widening;
        }

        using var written = new StringWriter();
        var exitCode = parse.Invoke(new InvocationConfiguration { Output = written, Error = error });
        output.Write(MarkOptionalArguments(written.ToString(), root));
        return exitCode;
    }

    public static string MarkOptionalArguments(string help, Command root)
    {
        var lines = help.Split('\n');
        var rows = new List<(int Line, string Label, int Column)>();
        foreach (var (line, index) in lines.Select((l, i) => (l, i)))
        {
            if (Row(line) is { } row && root.Subcommands.Any(c => !c.Hidden && row.Label.Split(' ')[0] == c.Name))
            {
                rows.Add((index, row.Label, row.Column));
            }
        }

        if (rows.Count == 0)
        {
            return help;
        }

        var labels = rows.Select(r => Bracketed(r.Label, root.Subcommands.First(c => c.Name == r.Label.Split(' ')[0]))).ToList();
        var column = Indent.Length + labels.Max(l => l.Length) + Gap.Length;
        var shift = column - rows[0].Column;
        var wrapped = new string(' ', rows[0].Column);
        for (var i = rows[0].Line; i < lines.Length; i++)
        {
            var at = rows.FindIndex(r => r.Line == i);
            if (at >= 0)
            {
                lines[i] = Indent + labels[at].PadRight(column - Indent.Length) + lines[i][rows[at].Column..];
            }
            else if (lines[i].StartsWith(wrapped, StringComparison.Ordinal) && !string.IsNullOrWhiteSpace(lines[i]))
            {
                // A description wrapped onto the next line: it stays under its first line.
                lines[i] = new string(' ', shift) + lines[i];
            }
            else
            {
                break;
            }
        }

        return string.Join('\n', lines);
    }

    /// <summary>A command row: two spaces, the label (words with single spaces), a gap of two or more, the description.</summary>
    private static (string Label, int Column)? Row(string line)
    {
        if (!line.StartsWith(Indent, StringComparison.Ordinal) || line.Length <= Indent.Length || line[Indent.Length] == ' ')
        {
            return null;
        }

        var end = line.IndexOf(Gap, Indent.Length, StringComparison.Ordinal);
        if (end < 0)
        {
            return null;
        }

        var column = end;
        while (column < line.Length && line[column] == ' ')
        {
            column++;
        }

        return (line[Indent.Length..end], column);
    }

    private static string Bracketed(string label, Command command)
    {
        var words = new StringBuilder(command.Name);
        foreach (var word in label.Split(' ').Skip(1))
        {
            var optional = command.Arguments.Any(a => !a.Hidden && a.Arity.MinimumNumberOfValues == 0 && word == $"<{a.HelpName ?? a.Name}>");
            words.Append(' ').Append(optional ? $"[{word}]" : word);
        }

        return words.ToString();
    }
}
