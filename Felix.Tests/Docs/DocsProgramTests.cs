using System.Net.Http.Json;
using Felix.Contracts;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Docs;

/// <summary>
/// The C# and JavaScript programs of the docs, as written: compiled (C#) and run against a real server on Kestrel. The
/// only change is the address: <c>http://localhost:8000/</c> becomes the test server's.
/// </summary>
public sealed class DocsProgramTests
{
    private const string DocumentedAddress = "http://localhost:8000/";
    private static readonly TimeSpan ProgramTimeout = TimeSpan.FromSeconds(90);

    // A paced model, so the programs usually join a workflow that is still running and see live events, not only history.
    private static readonly Dictionary<string, string?> PacedModel = new() { ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.002" };

    public static TheoryData<string> CSharpBlocks => Blocks("csharp");

    public static TheoryData<string> JavaScriptBlocks => Blocks("js");

    [Theory]
    [MemberData(nameof(CSharpBlocks))]
    public void CSharpSnippetCompilesAgainstFelixClient(string where)
    {
        var block = Find(where);

        var diagnostics = CSharpSnippet.Compile(block.Code, SnippetName(block), out _);

        Assert.True(diagnostics.Count == 0, $"{where} does not compile:\n{string.Join('\n', diagnostics)}");
    }

    [Theory]
    [MemberData(nameof(CSharpBlocks))]
    public async Task CSharpProgramRunsToTheSynthesis(string where)
    {
        var block = Find(where);
        await using var app = new FelixApplication(PacedModel, kestrel: true);
        using var api = app.CreateApiClient();
        var workflow = await api.CreateWorkflowAsync();
        var code = WithServer(block.Code, app);
        Assert.Empty(CSharpSnippet.Compile(code, SnippetName(block), out var assembly));

        var result = await CSharpSnippet.RunAsync(assembly, SnippetName(block), ProgramTimeout, workflow.WorkflowId);

        Assert.True(result.ExitCode == 0, $"{where}: {result}");
        await AssertPrintedASynthesisAsync(api, result, where);
    }

    [Theory]
    [MemberData(nameof(JavaScriptBlocks))]
    public async Task JavaScriptProgramRunsToTheSynthesisWithoutWarnings(string where)
    {
        var block = Find(where);
        var directory = Path.Combine(ChildProcess.RepositoryRoot, "tests", "js");
        Assert.True(Directory.Exists(Path.Combine(directory, "node_modules")), "tests/js/node_modules is missing: run scripts/install-test-deps.sh");
        await using var app = new FelixApplication(PacedModel, kestrel: true);
        using var api = app.CreateApiClient();
        var workflow = await api.CreateWorkflowAsync();
        // Beside tests/js/node_modules, where node resolves the snippet's imports; .doc-snippets/ is ignored by git.
        var script = Path.Combine(directory, ".doc-snippets", $"{SnippetName(block)}.{Guid.NewGuid():N}.mjs");
        Directory.CreateDirectory(Path.GetDirectoryName(script)!);
        await File.WriteAllTextAsync(script, WithServer(block.Code, app));
        try
        {
            var result = await ChildProcess.RunAsync(ChildProcess.StartInfo("node", [script, workflow.WorkflowId], directory).WithApiKey(null), ProgramTimeout);

            Assert.True(result.ExitCode == 0, $"{where}: {result}");
            Assert.DoesNotContain("No client method", result.Stdout + result.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("Warning", result.Stderr, StringComparison.Ordinal);
            await AssertPrintedASynthesisAsync(api, result, where);
            var sequences = result.Lines.Select(l => l.Split(' ')[0]).Where(s => long.TryParse(s, out _)).ToList();
            Assert.Equal(sequences.Distinct(), sequences);
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>The synthesis of a workflow on the server, which the program must have printed (it ran to the end).</summary>
    private static async Task AssertPrintedASynthesisAsync(HttpClient api, ChildProcess.Result result, string where)
    {
        var list = await api.GetFromJsonAsync<Felix.Contracts.Dtos.WorkflowListResponse>("api/v1/workflows", WorkflowApiExtensions.Json).DefaultTimeout();
        var finished = new List<string>();
        foreach (var summary in list!.Workflows)
        {
            var workflow = await api.WaitForTerminalAsync(summary.WorkflowId);
            Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
            finished.Add(workflow.Synthesis!.Content.ReplaceLineEndings("\n").Trim());
        }

        var output = result.Stdout.ReplaceLineEndings("\n");
        Assert.True(finished.Any(content => output.Contains(content, StringComparison.Ordinal)), $"{where} printed no synthesis: {result}");
    }

    private static string WithServer(string code, FelixApplication app)
    {
        Assert.Contains(DocumentedAddress, code, StringComparison.Ordinal);
        return code.Replace(DocumentedAddress, app.BaseAddress.ToString(), StringComparison.Ordinal);
    }

    private static TheoryData<string> Blocks(string language) =>
        new(DocCodeBlock.All.Where(b => b.Language == language).Select(b => b.Where));

    private static DocCodeBlock Find(string where) => Assert.Single(DocCodeBlock.All, b => b.Where == where);

    private static string SnippetName(DocCodeBlock block) =>
        new string(block.File.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray()) + "_" + block.Line;
}
