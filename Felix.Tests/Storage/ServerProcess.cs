using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

/// <summary>
/// Felix Server in a child process, so a test can kill it the way a crash does: no shutdown, no flush, no disposal.
/// </summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output;

    private ServerProcess(Process process, Uri baseAddress, ConcurrentQueue<string> output)
    {
        _process = process;
        BaseAddress = baseAddress;
        _output = output;
    }

    /// <summary>The lines the server has written to standard output so far.</summary>
    public IReadOnlyList<string> Output => _output.ToList();

    public Uri BaseAddress { get; }

    public int Id => _process.Id;

    /// <summary>
    /// How the tests run the server: the built dll, Production (no environment set), warnings and the lifetime lines.
    /// Port 0 lets the system pick one; a restart test passes the port of the server it replaces.
    /// </summary>
    public static ProcessStartInfo StartInfo(string workingDirectory, IDictionary<string, string> settings, string? dll = null, int port = 0)
    {
        dll ??= Path.Combine(AppContext.BaseDirectory, "Felix.Server.dll");
        var info = ChildProcess.StartInfo(
            "dotnet", [dll, "--urls", "http://127.0.0.1:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture)], workingDirectory);
        info.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        info.Environment.Remove("DOTNET_ENVIRONMENT");
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        // Production without a key refuses to start; these servers are open on purpose.
        info.Environment["Felix__Security__AllowAnonymous"] = "true";
        foreach (var (key, value) in settings)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        return info;
    }

    /// <summary>Runs a server that is expected to refuse to start, and returns how it ended.</summary>
    public static Task<ChildProcess.Result> RunToExitAsync(string workingDirectory, IDictionary<string, string> settings) =>
        ChildProcess.RunAsync(StartInfo(workingDirectory, settings), TimeSpan.FromSeconds(30));

    public static Task<ServerProcess> StartAsync(string workingDirectory, IDictionary<string, string> settings, string? dll = null, int port = 0) =>
        StartAsync(StartInfo(workingDirectory, settings, dll, port));

    /// <summary>Starts a server as <paramref name="info"/> says (a test that needs other arguments or environment).</summary>
    public static async Task<ServerProcess> StartAsync(ProcessStartInfo info)
    {
        info.RedirectStandardInput = false;
        var process = Process.Start(info)!;
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } data)
            {
                output.Enqueue(data);
            }

            if (e.Data is { } line && ListeningLine().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value.TrimEnd('/') + "/"));
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _ = process.WaitForExitAsync().ContinueWith(
            _ => listening.TrySetException(new InvalidOperationException($"The server exited with code {process.ExitCode} before listening.")),
            TaskScheduler.Default);
        try
        {
            return new ServerProcess(process, await listening.Task.WaitAsync(TimeSpan.FromSeconds(60)), output);
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>SIGSTOP: the process freezes where it is, sockets open, as a node cut off by a long pause does.</summary>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>SIGTERM: the graceful shutdown an orchestrator asks for.</summary>
    public Task TerminateAsync() => SignalAsync("TERM");

    /// <summary>Waits for the process to end by itself; its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    /// <summary>SIGCONT: the frozen process goes on as if nothing happened.</summary>
    public Task ContinueAsync() => SignalAsync("CONT");

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>SIGKILL: the process gets no chance to stop, flush or dispose anything.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await ContinueAsync();
            await KillAsync();
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();
}
