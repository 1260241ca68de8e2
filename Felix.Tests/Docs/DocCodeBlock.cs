using System.Text.RegularExpressions;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Docs;

/// <summary>
/// A fenced code block of the README, <c>docs/</c> or a client's README, with the <c>&lt;!-- doc-test: kind (why) --&gt;</c>
/// comment on the line before it that says how the tests exercise it.
/// </summary>
internal sealed partial record DocCodeBlock(string File, int Line, string Language, string? Kind, string? Reason, string Code)
{
    /// <summary>Every Markdown file whose code a reader copies: the README, docs/, and the clients' READMEs.</summary>
    public static IReadOnlyList<string> DocumentFiles { get; } = FindDocuments();

    public static IReadOnlyList<DocCodeBlock> All { get; } = DocumentFiles.SelectMany(Parse).ToList();

    public string Where => $"{File}:{Line}";

    public static IEnumerable<DocCodeBlock> InFile(string file) => All.Where(b => b.File == file);

    public static IEnumerable<DocCodeBlock> Parse(string relativePath)
    {
        var lines = System.IO.File.ReadAllLines(Path.Combine(ChildProcess.RepositoryRoot, relativePath));
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = Fence().Match(lines[i]);
            if (!fence.Success)
            {
                continue;
            }

            var start = i;
            var body = new List<string>();
            for (i++; i < lines.Length && lines[i].TrimEnd() != "```"; i++)
            {
                body.Add(lines[i]);
            }

            var marker = start > 0 ? Marker().Match(lines[start - 1]) : Match.Empty;
            yield return new DocCodeBlock(
                relativePath.Replace('\\', '/'),
                start + 1,
                fence.Groups["lang"].Value,
                marker.Success ? marker.Groups["kind"].Value : null,
                marker.Success && marker.Groups["why"].Success ? marker.Groups["why"].Value : null,
                string.Join('\n', body) + "\n");
        }
    }

    public override string ToString() => Where;

    private static List<string> FindDocuments()
    {
        var root = ChildProcess.RepositoryRoot;
        var files = new List<string> { "README.md" };
        files.AddRange(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Order(StringComparer.Ordinal).Select(f => Path.GetRelativePath(root, f)));
        files.AddRange(Directory.GetFiles(Path.Combine(root, "clients"), "README.md", SearchOption.AllDirectories)
            .Where(f => !f.Contains("node_modules", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(f => Path.GetRelativePath(root, f)));
        return files.Select(f => f.Replace('\\', '/')).ToList();
    }

    [GeneratedRegex(@"^```(?<lang>\S*)\s*$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"^<!--\s*doc-test:\s*(?<kind>[a-z]+)(\s*\((?<why>.+)\))?\s*-->\s*$")]
    private static partial Regex Marker();
}
