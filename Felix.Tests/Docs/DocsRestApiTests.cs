using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Docs;

/// <summary>
/// The README's table of REST routes against the OpenAPI document the server serves: every operation the document
/// lists is in the table, and every route in the table is one the server has, so a user reading the README meets
/// neither a missing route nor one that answers 404.
/// </summary>
public sealed partial class DocsRestApiTests
{
    [Fact]
    public async Task ReadmeRestTableNamesExactlyTheOperationsOfTheOpenApiDocument()
    {
        await using var app = new FelixApplication();
        using var anonymous = app.CreateClient();
        var document = JsonNode.Parse(await anonymous.GetStringAsync("openapi/v1.json").DefaultTimeout())!;
        var served = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject()
                .Where(operation => operation.Key != "parameters")
                .Select(operation => $"{operation.Key.ToUpperInvariant()} {WithoutParameterNames(path.Key)}"))
            .ToHashSet();

        var readme = await File.ReadAllTextAsync(Path.Combine(ChildProcess.RepositoryRoot, "README.md"));
        var start = readme.IndexOf("\n## REST API", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no '## REST API' section listing the routes.");
        var table = readme[start..];
        table = table[..table.IndexOf("\n## ", 1, StringComparison.Ordinal)];
        var documented = TableRoute().Matches(table).Select(m => $"{m.Groups[1].Value} {WithoutParameterNames(m.Groups[2].Value)}").ToHashSet();

        Assert.Empty(served.Except(documented).Order());
        Assert.Empty(documented.Except(served).Order());
    }

    [Fact]
    public async Task ReadmeNamesEveryEntryOfASingleNodeReadinessCheck()
    {
        await using var app = new FelixApplication();
        using var anonymous = app.CreateClient();
        var entries = JsonNode.Parse(await anonymous.GetStringAsync("health/ready").DefaultTimeout())!["entries"]!.AsObject()
            .Select(entry => entry.Key).ToList();

        var readme = await File.ReadAllTextAsync(Path.Combine(ChildProcess.RepositoryRoot, "README.md"));
        var health = readme[readme.IndexOf("- Health:", StringComparison.Ordinal)..];
        health = health[..health.IndexOf("\n- ", StringComparison.Ordinal)];

        Assert.NotEmpty(entries);
        var missing = entries.Where(entry => !health.Contains($"`{entry}`", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, $"README's Health line does not name the entries {string.Join(", ", missing)} that /health/ready answers.");
    }

    private static string WithoutParameterNames(string path) => ParameterName().Replace(path, "{}");

    [GeneratedRegex(@"^\| `(GET|POST|PUT|PATCH|DELETE) (/api/v1/[^`?]*)`", RegexOptions.Multiline)]
    private static partial Regex TableRoute();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex ParameterName();
}
