using System.Diagnostics;
using System.Net.Http.Json;
using Felix.Bench.Contracts;

namespace Felix.Bench.Load;

/// <summary>A server under test in its own process on a loopback port: started, probed through /proc, stopped.</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private static readonly long TicksPerSecond = 100; // USER_HZ on Linux

    private readonly Process _process;

    private ServerProcess(string name, Process process, int port)
    {
        Name = name;
        _process = process;
        Port = port;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(3) };
    }

    public string Name { get; }

    public int Port { get; }

    public HttpClient Http { get; }

    public int Pid => _process.Id;

    /// <summary>
    /// Starts <paramref name="dll"/> and returns once it answers: the bench endpoints' stats, or
    /// <paramref name="readyPath"/> with 200 for a server without them (the real server's <c>/health/ready</c>, probed
    /// every 20 ms so the moment it is ready is known to that).
    /// </summary>
    public static async Task<ServerProcess> StartAsync(
        string name, string dll, int port, IDictionary<string, string> environment, IEnumerable<string>? arguments = null, string? readyPath = null)
    {
        var info = new ProcessStartInfo("dotnet", [Path.GetFullPath(dll), "--urls", $"http://127.0.0.1:{port}", .. (arguments ?? [])])
        {
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(dll))!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) Console.Error.WriteLine($"[{name}] {line}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(name, process, port);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                if (readyPath is null)
                {
                    await server.StatsAsync(collect: false);
                    return server;
                }

                using var ready = await server.Http.GetAsync(readyPath);
                if (ready.IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (process.HasExited)
            {
                break;
            }

            await Task.Delay(readyPath is null ? 200 : 20);
        }

        await server.DisposeAsync();
        throw new InvalidOperationException($"{name} did not start on port {port}.");
    }

    public async Task<string[]> CreateWorkflowsAsync(int count) =>
        (await (await Http.PostAsync($"/api/v1/bench/workflows?count={count}", null)).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<string[]>())!;

    /// <summary>Publishes and returns once the server has published every event (delivery may still be under way).</summary>
    public async Task<BenchPublishResult> PublishAsync(IReadOnlyList<string> workflowIds, int events, double rate, int bytes)
    {
        var response = await Http.PostAsJsonAsync($"/api/v1/bench/publish?events={events}&rate={rate.ToString(System.Globalization.CultureInfo.InvariantCulture)}&bytes={bytes}", workflowIds);
        return (await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<BenchPublishResult>())!;
    }

    public async Task<BenchStats> StatsAsync(bool collect, bool aggressive = false) =>
        (await Http.GetFromJsonAsync<BenchStats>($"/api/v1/bench/stats?collect={collect}&aggressive={aggressive}"))!;

    /// <summary>User + system CPU time of the process so far.</summary>
    /// <summary>
    /// The process's JIT compilation time so far: the real server's runtime metric, the bare server's own count. What a
    /// measured window holds of it is the process still warming up, not the load.
    /// </summary>
    public async Task<double> JitSecondsAsync()
    {
        if (Name != "felix")
        {
            return (await StatsAsync(collect: false)).JitMs / 1000;
        }

        var metrics = await Http.GetStringAsync("/metrics");
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith("dotnet_jit_compilation_time_seconds", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    public TimeSpan CpuTime() => CpuTimeOf(Pid);

    /// <summary>User + system CPU time of process <paramref name="pid"/> so far.</summary>
    public static TimeSpan CpuTimeOf(int pid)
    {
        var (user, system) = CpuTimesOf(pid);
        return user + system;
    }

    /// <summary>User and system CPU time of the process so far, apart (system: the kernel's work for its calls, such as sends and fsync).</summary>
    public (TimeSpan User, TimeSpan System) CpuTimes() => CpuTimesOf(Pid);

    private static (TimeSpan User, TimeSpan System) CpuTimesOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After "pid (comm) ", field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
        return (TimeSpan.FromSeconds((double)long.Parse(fields[11]) / TicksPerSecond), TimeSpan.FromSeconds((double)long.Parse(fields[12]) / TicksPerSecond));
    }

    /// <summary>Resident set size from /proc (bytes).</summary>
    public long Rss()
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
            }
        }

        return 0;
    }

    /// <summary>
    /// SIGTERM (what systemd, Docker and Kubernetes send; the server drains, see docs/durability.md), then waits for the
    /// process to end. <see cref="Process.Kill()"/> would be SIGKILL.
    /// </summary>
    public async Task TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
        {
            await kill.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(timeout);
    }

    /// <summary>SIGKILL, as a crash: no drain, the clients' sockets are reset.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public int ExitCode => _process.ExitCode;

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        // Wait for the process to be gone before the port is reused.
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _process.Dispose();
    }
}
