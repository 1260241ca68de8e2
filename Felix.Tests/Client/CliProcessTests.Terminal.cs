using System.Text.Json;
using System.Text.RegularExpressions;
using Felix.Tests.Infrastructure;
using static Felix.Tests.Client.ClientTestSupport;

namespace Felix.Tests.Client;

/// <summary>What <c>felix</c> writes to a terminal: no secrets in help, no escape sequences from server data, plain usage errors.</summary>
public sealed partial class CliProcessTests
{
    // A title change (OSC 0), a bell and a colour (CSI): what another user of the tenant could put in a task.
    private const string EvilTask = "Evil \u001b]0;pwned\u0007\u001b[31mRED";
    private const string EvilTaskShown = @"Evil \x1B]0;pwned\x07\x1B[31mRED";

    [Theory]
    [InlineData("run")]
    [InlineData("watch")]
    [InlineData("list")]
    [InlineData("approve")]
    public async Task HelpNeverPrintsTheApiKeyFromTheEnvironment(string command)
    {
        const string secret = "k1-secret-from-the-environment";

        var help = await CliProcess.RunAsync(secret, command, "--help");

        Assert.True(help.ExitCode == 0, help.ToString());
        Assert.Contains("--api-key", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("$FELIX_API_KEY", help.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, help.Stdout + help.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiKeyFromTheEnvironmentIsStillSent()
    {
        await using var app = CreateServer();

        var list = await CliProcess.RunAsync(Key, "list", "--url", app.BaseAddress.ToString());

        Assert.True(list.ExitCode == 0, list.ToString());
    }

    [Theory]
    [InlineData("run", "x", "--max-steps", "abc")]
    [InlineData("run", "--example", "two")]
    [InlineData("list", "--page-size", "1.5")]
    public async Task ANumberOptionGivenTextIsAPlainUsageError(params string[] args)
    {
        var result = await CliProcess.RunAsync(Key, [.. args, "--url", "http://127.0.0.1:1/"]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"Error: {args[^2]} must be a whole number, got '{args[^1]}'.", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ControlCharactersFromTheServerAreEscapedInTextAndKeptInJson()
    {
        await using var app = CreateServer();
        using var client = CreateClient(app);
        var workflow = await client.CreateWorkflowAsync(EvilTask, maxSteps: 1).DefaultTimeout();
        await client.WatchAsync(workflow.WorkflowId).ToListAsync().DefaultTimeout();
        var url = app.BaseAddress.ToString();

        var get = await CliProcess.RunAsync(Key, "get", workflow.WorkflowId, "--url", url);
        var list = await CliProcess.RunAsync(Key, "list", "--url", url);
        var watch = await CliProcess.RunAsync(Key, "watch", workflow.WorkflowId, "--no-live", "--url", url);
        var json = await CliProcess.RunAsync(Key, "get", workflow.WorkflowId, "--json", "--url", url);

        foreach (var text in new[] { get, list, watch })
        {
            Assert.True(text.ExitCode == 0, text.ToString());
            Assert.DoesNotContain(text.Stdout, c => (c < 0x20 || c is >= '\u007F' and <= '\u009F') && c is not '\n' and not '\t');
            Assert.Contains(EvilTaskShown, text.Stdout, StringComparison.Ordinal);
        }

        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.Equal(EvilTask, JsonDocument.Parse(json.Stdout).RootElement.GetProperty("task").GetString());
    }

    [Fact]
    public async Task LiveViewOnATerminalShowsControlCharactersFromTheServerEscaped()
    {
        // A title (OSC), a bell, blinking red and a screen clear (CSI), and the one-byte C1 CSI; short enough that the
        // first line does not wrap on an 80-column terminal.
        const string task = "E \u001b]0;p\u0007\u001b[5;31mB\u001b[2J\u009b31mC";
        await using var app = CreateServer();
        using var client = CreateClient(app);
        var workflow = await client.CreateWorkflowAsync(task, maxSteps: 2).DefaultTimeout();

        var terminal = await CliProcess.RunOnTerminalAsync(Key, "watch", workflow.WorkflowId, "--url", app.BaseAddress.ToString());

        Assert.True(terminal.ExitCode == 0, terminal.ToString());
        // The live view ran: Spectre hid the cursor and drew its progress rows, which only happens on a terminal.
        Assert.Contains("\u001b[?25l", terminal.Stdout, StringComparison.Ordinal);
        Assert.Contains(@"E \x1B]0;p\x07\x1B[5;31mB\x1B[2J\x9B31mC", terminal.Stdout, StringComparison.Ordinal);
        foreach (var raw in new[] { "\u001b]0;", "\u0007", "\u001b[5;31m", "\u001b[2J", "\u009b" })
        {
            Assert.DoesNotContain(raw, terminal.Stdout, StringComparison.Ordinal);
        }

        // Beyond the view's own sequences (CSI, and the keypad mode .NET sets on a terminal) no escape reaches the terminal.
        var text = Regex.Replace(terminal.Stdout, @"\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b[=>]", "");
        Assert.DoesNotContain(text, c => (c < 0x20 || c is >= '\u007F' and <= '\u009F') && c is not '\n' and not '\r' and not '\t');
    }
}
