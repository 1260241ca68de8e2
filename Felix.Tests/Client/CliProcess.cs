using System.Diagnostics;
using System.Text;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Client;

/// <summary>Runs the <c>felix</c> console app as a user runs it: <c>dotnet Felix.Cli.dll ...</c>, output piped (not a terminal).</summary>
internal static class CliProcess
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    public static string CliPath => Path.Combine(
        ChildProcess.RepositoryRoot, "clients", "dotnet", "Felix.Cli", "bin", ChildProcess.BuildConfiguration, "net10.0", "Felix.Cli.dll");

    public static Task<ChildProcess.Result> RunAsync(string? apiKey, params string[] args)
    {
        Assert.True(File.Exists(CliPath), $"{CliPath} is missing: Felix.Tests builds it through its project reference.");
        return ChildProcess.RunAsync(ChildProcess.StartInfo("dotnet", [CliPath, .. args]).WithApiKey(apiKey), RunTimeout);
    }

    /// <summary>
    /// Runs the app on a terminal of its own, a pseudo-terminal from util-linux <c>script</c> (<c>--return</c>: its exit
    /// code is the app's), and returns the bytes the terminal was sent as stdout. <c>TERM</c> names a colour terminal, so
    /// the app sees what it sees in a terminal window. Its stdin is closed at once (the app reads none); the run is
    /// bounded and its process tree killed when it overruns.
    /// </summary>
    public static Task<ChildProcess.Result> RunOnTerminalAsync(string? apiKey, params string[] args)
    {
        Assert.True(File.Exists(CliPath), $"{CliPath} is missing: Felix.Tests builds it through its project reference.");
        var command = string.Join(' ', new[] { "dotnet", CliPath }.Concat(args).Select(a => "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));
        var start = ChildProcess.StartInfo("script", ["--quiet", "--flush", "--return", "--command", command, "/dev/null"]).WithApiKey(apiKey);
        start.Environment["TERM"] = "xterm-256color";
        start.Environment.Remove("NO_COLOR");
        return ChildProcess.RunAsync(start, RunTimeout);
    }

    /// <summary>
    /// Runs the app and sends it SIGINT (what Ctrl+C sends) once it has printed a line matching <paramref name="when"/>.
    /// </summary>
    public static Task<ChildProcess.Result> InterruptAfterAsync(string? apiKey, Func<string, bool> when, params string[] args) =>
        ReactAsync(apiKey, when, async process =>
        {
            using var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
            await kill.WaitForExitAsync();
        }, args);

    /// <summary>Runs the app and does <paramref name="act"/> once, when it has printed a line matching <paramref name="when"/>.</summary>
    /// <remarks>
    /// The app starts with SIGINT at its default action, as from a terminal: a test run started in the background of a
    /// non-interactive shell ignores SIGINT, and a process inherits that (the runtime then never sees a Ctrl+C).
    /// </remarks>
    public static async Task<ChildProcess.Result> ReactAsync(string? apiKey, Func<string, bool> when, Func<Process, Task> act, params string[] args)
    {
        Assert.True(File.Exists(CliPath), $"{CliPath} is missing: Felix.Tests builds it through its project reference.");
        using var process = Process.Start(ChildProcess.StartInfo("env", ["--default-signal=INT", "dotnet", CliPath, .. args]).WithApiKey(apiKey))!;
        process.StandardInput.Close();
        var stdout = new StringBuilder();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(RunTimeout);
        try
        {
            while (await process.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
            {
                stdout.AppendLine(line);
                if (when(line))
                {
                    await act(process).WaitAsync(deadline.Token);
                    break;
                }
            }

            stdout.Append(await process.StandardOutput.ReadToEndAsync(deadline.Token));
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"felix {string.Join(' ', args)} did not finish within {RunTimeout}:\n{stdout}");
        }

        return new ChildProcess.Result(process.ExitCode, stdout.ToString(), await stderr);
    }
}
