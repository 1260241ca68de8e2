using System.Net;
using System.Text;
using System.Text.Json;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;

namespace Felix.Tests.Docs;

/// <summary>
/// Every code block a reader may copy from the README, docs/ or a client's README is a program, a command, data or
/// sample output, and each program or command is exercised by a test (or says why not), so the docs cannot rot
/// unnoticed. The kinds: <c>run</c> and <c>server</c> (run by <see cref="DocsShellTests"/>, <see cref="DocsProgramTests"/>),
/// <c>json</c> (parsed), <c>skip (why)</c>; <c>text</c> blocks are output and pictures.
/// </summary>
public sealed class DocsCodeBlockTests
{
    private static readonly Dictionary<string, string[]> KindsByLanguage = new()
    {
        ["csharp"] = ["run"],
        ["js"] = ["run"],
        ["bash"] = ["run", "server", "skip"],
        ["json"] = ["json"],
        ["text"] = [],
    };

    [Fact]
    public void EveryCodeBlockSaysHowItIsTested()
    {
        Assert.NotEmpty(DocCodeBlock.All);
        var wrong = DocCodeBlock.All.Where(b => !IsDeclared(b)).Select(b => $"{b.Where}: ```{b.Language} marked '{b.Kind}'").ToList();

        Assert.True(wrong.Count == 0,
            "Code blocks must be ```csharp, ```js, ```bash (with <!-- doc-test: run|server|skip (why) --> on the line before), "
            + "```json or ```text:\n" + string.Join('\n', wrong));
    }

    [Fact]
    public void TheDocsHaveTheBlocksTheTestsRun()
    {
        // Guards the guard: a parser that found nothing would let every test below pass with no work.
        Assert.Contains(DocCodeBlock.All, b => b.File == "README.md" && b.Kind == "server");
        Assert.Contains(DocCodeBlock.All, b => b.File == "docs/clients.md" && b.Language == "csharp");
        Assert.Equal(2, DocCodeBlock.All.Count(b => b.File == "docs/hubs.md" && b.Language == "js"));
        Assert.Contains(DocCodeBlock.All, b => b.File == "docs/security.md" && b.Kind == "run");
    }

    [Fact]
    public void JsonBlocksParse()
    {
        foreach (var block in DocCodeBlock.All.Where(b => b.Language == "json"))
        {
            var exception = Record.Exception(() => JsonDocument.Parse(block.Code).Dispose());
            Assert.True(exception is null, $"{block.Where}: {exception?.Message}");
        }
    }

    [Fact]
    public async Task SecurityKeysExampleGivesEachTenantItsOwnWorkflowsAndTheAdminAll()
    {
        var block = Assert.Single(DocCodeBlock.InFile("docs/security.md"), b => b.Language == "json");
        var settings = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(block.Code))).Build()
            .AsEnumerable().Where(s => s.Value is not null).ToDictionary(s => s.Key, s => s.Value);
        await using var app = new FelixApplication(settings);
        using var acme = app.CreateApiClient("acme-key-change-me");
        using var globex = app.CreateApiClient("globex-key-change-me");
        using var ops = app.CreateApiClient("ops-key-change-me");
        using var wrong = app.CreateApiClient("not-a-key");

        var workflow = await acme.CreateWorkflowAsync();

        Assert.Equal(HttpStatusCode.NotFound, (await globex.GetAsync($"api/v1/workflows/{workflow.WorkflowId}").DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ops.GetAsync($"api/v1/workflows/{workflow.WorkflowId}").DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await acme.GetAsync($"api/v1/workflows/{workflow.WorkflowId}").DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("api/v1/workflows").DefaultTimeout()).StatusCode);
    }

    private static bool IsDeclared(DocCodeBlock block) =>
        KindsByLanguage.TryGetValue(block.Language, out var kinds)
        && (kinds.Length == 0 ? block.Kind is null : kinds.Contains(block.Kind))
        && (block.Kind != "skip" || !string.IsNullOrWhiteSpace(block.Reason));
}
