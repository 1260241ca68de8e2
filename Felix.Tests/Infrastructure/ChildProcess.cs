using System.Diagnostics;
using System.Text;

namespace Felix.Tests.Infrastructure;

/// <summary>
/// Runs a program the way a user would (the console app, the Python example, Node scripts): output captured, input
/// closed, bounded in time; the process tree is killed when it overruns.
/// </summary>
internal static class ChildProcess
{
    /// <summary>The directory holding Felix.sln, found by walking up from the test binaries.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>The configuration the tests were built in, and with them the programs they run through project references.</summary>
#if DEBUG
    public const string BuildConfiguration = "Debug";
#else
    public const string BuildConfiguration = "Release";
#endif

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string[] Lines => Stdout.ReplaceLineEndings("\n").Split('\n');

        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>Passes the key through <c>FELIX_API_KEY</c> (or makes sure none leaks in from the test's environment).</summary>
    public static ProcessStartInfo WithApiKey(this ProcessStartInfo start, string? apiKey)
    {
        start.Environment.Remove("FELIX_URL");
        if (apiKey is null)
        {
            start.Environment.Remove("FELIX_API_KEY");
        }
        else
        {
            start.Environment["FELIX_API_KEY"] = apiKey;
        }

        return start;
    }

    public static async Task<Result> RunAsync(ProcessStartInfo start, TimeSpan timeout)
    {
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException(
                $"{start.FileName} {string.Join(' ', start.ArgumentList)} did not finish within {timeout}. Output so far:\n{await stdout}\n{await stderr}");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Felix.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"Felix.sln not found above {AppContext.BaseDirectory}.");
    }
}
