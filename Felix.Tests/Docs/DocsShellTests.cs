using Felix.Tests.Infrastructure;

namespace Felix.Tests.Docs;

/// <summary>
/// The docs' shell commands (<c>doc-test: run</c> and <c>server</c> blocks) run in bash as written (see
/// <see cref="DocShell"/> for the two substitutions). A file's run blocks run in order in one shell, against the server
/// its first server block starts, or against a test server when it has none.
/// </summary>
public sealed class DocsShellTests
{
    /// <summary>What a file's commands must print besides exiting 0: the thing the docs say the reader will see.</summary>
    private static readonly Dictionary<string, Func<DocCodeBlock[], string[]>> Expected = new()
    {
        ["README.md"] = _ => ["\"status\": \"completed\"", "Workflow completed"],
        ["docs/clients.md"] = _ => ["Workflow completed"],
        ["docs/agui.md"] = _ => [" RUN_FINISHED\n", "Synthesis of 2 agent outputs", "RUN_STARTED\nSTATE_SNAPSHOT\n", "interrupt\nsynthesis\nsuccess\n"],
        ["docs/approvals.md"] = blocks => [blocks.Single(b => b.Language == "text").Code.Trim() + "\n409\napproved and completed\n"],
        ["docs/security.md"] = blocks => ["401\n200\n", blocks.Single(b => b.Language == "text").Code.Trim() + "\n0\n"],
    };

    public static TheoryData<string> ServerBlocks =>
        new(DocCodeBlock.All.Where(b => b.Kind == "server").Select(b => b.Where));

    public static TheoryData<string> FilesWithCommands =>
        new(DocCodeBlock.All.Where(b => b.Language == "bash" && b.Kind == "run").Select(b => b.File).Distinct());

    [Theory]
    [MemberData(nameof(ServerBlocks))]
    public async Task ServerCommandStartsAServer(string where)
    {
        var block = Assert.Single(DocCodeBlock.All, b => b.Where == where);

        await using var server = await DocShell.Server.StartAsync(block);

        using var http = new HttpClient { BaseAddress = server.Url };
        var status = await http.GetAsync("health").DefaultTimeout();
        Assert.True(status.IsSuccessStatusCode, $"{where}: /health answered {(int)status.StatusCode}\n{server.Output}");
    }

    [Theory]
    [MemberData(nameof(FilesWithCommands))]
    public async Task CommandsRunAsWritten(string file)
    {
        var blocks = DocCodeBlock.InFile(file).ToArray();
        Assert.True(Expected.ContainsKey(file), $"{file} has commands: say in DocsShellTests.Expected what they print");
        var script = string.Concat(blocks.Where(b => b.Language == "bash" && b.Kind == "run").Select(b => b.Code));
        var serverBlock = blocks.FirstOrDefault(b => b.Kind == "server");
        await using var app = serverBlock is null ? new FelixApplication(kestrel: true) : null;
        await using var server = serverBlock is null ? null : await DocShell.Server.StartAsync(serverBlock);
        var url = server?.Url ?? app!.BaseAddress;
        var data = Directory.CreateTempSubdirectory("felix-doc-test-").FullName;

        try
        {
            var result = await ChildProcess.RunAsync(DocShell.StartInfo(script, url, data), DocShell.ScriptTimeout);

            Assert.True(result.ExitCode == 0, $"{file}: {result}\n--- server\n{server?.Output}");
            foreach (var expected in Expected[file](blocks))
            {
                Assert.Contains(expected, result.Stdout.ReplaceLineEndings("\n"), StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
