using Felix.Tests.Infrastructure;

namespace Felix.Tests.Compat;

/// <summary>Runs <c>clients/python/felix_ws_client.py</c> with Debian's Python (the one that sees python3-websockets).</summary>
internal static class PythonClient
{
    public const string Interpreter = "/usr/bin/python3";
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    public static Task<ChildProcess.Result> RunAsync(Uri server, string? apiKey, params string[] args)
    {
        var script = Path.Combine(ChildProcess.RepositoryRoot, "clients", "python", "felix_ws_client.py");
        var start = ChildProcess.StartInfo(Interpreter, [script, "--url", server.ToString().TrimEnd('/'), .. args]).WithApiKey(apiKey);
        start.Environment["PYTHONUNBUFFERED"] = "1";
        start.Environment["PYTHONIOENCODING"] = "utf-8";
        return ChildProcess.RunAsync(start, RunTimeout);
    }
}
