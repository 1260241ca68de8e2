using System.Diagnostics;
using System.Text;

namespace Felix.Tests.Compat;

/// <summary>Runs <c>clients/python/felix_ws_client.py</c> with Debian's Python (the one that sees python3-websockets).</summary>
internal static class PythonClient
{
    public const string Interpreter = "/usr/bin/python3";
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string[] Lines => Stdout.ReplaceLineEndings("\n").Split('\n');
    }

    public static async Task<Result> RunAsync(Uri server, string? apiKey, params string[] args)
    {
        var script = Path.Combine(CompatTestSupport.RepositoryRoot(), "clients", "python", "felix_ws_client.py");
        var start = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add("--url");
        start.ArgumentList.Add(server.ToString().TrimEnd('/'));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["PYTHONUNBUFFERED"] = "1";
        start.Environment["PYTHONIOENCODING"] = "utf-8";
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
            throw new TimeoutException($"The Python client did not finish within {RunTimeout}. Output so far:\n{await stdout}\n{await stderr}");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
