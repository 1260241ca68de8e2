using System.Diagnostics;
using System.Text;
using Felix.Tests.Compat;

namespace Felix.Tests.Client;

/// <summary>Runs the <c>felix</c> console app as a user runs it: <c>dotnet Felix.Cli.dll ...</c>, output piped (not a terminal).</summary>
internal static class CliProcess
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string[] Lines => Stdout.ReplaceLineEndings("\n").Split('\n');

        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    public static string CliPath => Path.Combine(
        CompatTestSupport.RepositoryRoot(), "clients", "dotnet", "Felix.Cli", "bin", Configuration, "net10.0", "Felix.Cli.dll");

    public static async Task<Result> RunAsync(string? apiKey, params string[] args)
    {
        Assert.True(File.Exists(CliPath), $"{CliPath} is missing: Felix.Tests builds it through its project reference.");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(CliPath);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("FELIX_URL");
        if (apiKey is null)
        {
            start.Environment.Remove("FELIX_API_KEY");
        }
        else
        {
            start.Environment["FELIX_API_KEY"] = apiKey;
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(RunTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"felix did not finish within {RunTimeout}. Output so far:\n{await stdout}\n{await stderr}");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
