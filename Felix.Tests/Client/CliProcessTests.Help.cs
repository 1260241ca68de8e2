using System.Text.RegularExpressions;

namespace Felix.Tests.Client;

/// <summary>What <c>felix --help</c> lists: each command as its own help's usage line shows it.</summary>
public sealed partial class CliProcessTests
{
    [Fact]
    public async Task RootHelpListsEachCommandWithTheArgumentsItsOwnHelpShows()
    {
        var root = await CliProcess.RunAsync(null, "--help");

        Assert.True(root.ExitCode == 0, root.ToString());
        var rows = root.Lines.SkipWhile(l => l != "Commands:").Skip(1).TakeWhile(l => l.Length > 0).ToList();
        Assert.NotEmpty(rows);
        var listed = rows.Select(r => CommandRow().Match(r)).ToList();
        Assert.All(listed, m => Assert.True(m.Success, $"not a command row: '{m.Value}'\n{root.Stdout}"));
        // The descriptions start in one column, after the longest label and a gap.
        Assert.Single(listed.Select(m => m.Groups["description"].Index).Distinct());
        foreach (var row in listed)
        {
            var label = row.Groups["label"].Value;
            var command = label.Split(' ')[0];
            var own = await CliProcess.RunAsync(null, command, "--help");
            var usage = own.Lines.SkipWhile(l => l != "Usage:").Skip(1).First().Trim();

            Assert.Equal($"felix {label} [options]", usage);
        }

        Assert.Contains(listed, m => m.Groups["label"].Value == "approve <id> [<approval-id>]");
        Assert.Contains(listed, m => m.Groups["label"].Value == "watch <id>");
    }

    [GeneratedRegex(@"^  (?<label>\S+(?: \S+)*)  +(?<description>\S.*)$")]
    private static partial Regex CommandRow();
}
