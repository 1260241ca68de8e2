using Felix.Tests.Infrastructure;

namespace Felix.Tests.Docs;

/// <summary>
/// The systemd unit in docs/deployment.md, read the way systemd reads it: a reader copies it to
/// /etc/systemd/system and runs <c>systemctl enable --now</c>, so it must say where it is wanted and hold no comment
/// behind a value (systemd keeps such a comment as part of the value).
/// </summary>
public sealed class DocsSystemdUnitTests
{
    [Fact]
    public async Task DeploymentUnitCanBeEnabledAndHasNoCommentInAValue()
    {
        var block = Assert.Single(DocCodeBlock.InFile("docs/deployment.md"), b => b.Language == "text" && b.Code.Contains("[Service]"));
        var section = "";
        var entries = new List<(string Section, string Key, string Value)>();
        foreach (var line in block.Code.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] is not ('#' or ';')))
        {
            if (line.StartsWith('['))
            {
                section = line;
                continue;
            }
            var equals = line.IndexOf('=');
            Assert.True(equals > 0, $"{block.Where}: '{line}' is not Key=Value");
            entries.Add((section, line[..equals], line[(equals + 1)..]));
        }

        Assert.Empty(entries.Where(e => e.Value.Contains(" #") || e.Value.Contains(" ;")).Select(e => $"{e.Key}={e.Value}"));
        Assert.Contains(entries, e => e is { Section: "[Install]", Key: "WantedBy" });
        Assert.Contains(entries, e => e is { Section: "[Service]", Key: "ExecStart" });

        // systemd's own check of the sections and keys, where systemd is installed and ExecStart's program exists.
        if (File.Exists("/usr/bin/systemd-analyze") && File.Exists("/usr/bin/dotnet"))
        {
            var unit = Path.Combine(Directory.CreateTempSubdirectory("felix-unit-").FullName, "felix.service");
            await File.WriteAllTextAsync(unit, block.Code);
            var result = await ChildProcess.RunAsync(
                ChildProcess.StartInfo("/usr/bin/systemd-analyze", ["verify", "--man=no", unit], Path.GetDirectoryName(unit)!), TimeSpan.FromSeconds(60));
            Assert.True(result.ExitCode == 0 && !result.Stderr.Contains("Unknown", StringComparison.OrdinalIgnoreCase),
                $"systemd-analyze verify: exit {result.ExitCode}\n{result.Stdout}{result.Stderr}");
        }
    }
}
