using System.Diagnostics;
using System.Globalization;

namespace Felix.Bench.Load;

/// <summary>
/// A throwaway <c>redis-server</c> on a loopback port for the scale-out runs: no persistence (a run's history is not
/// worth a disk write, and fsync would measure the disk), counted through <c>INFO commandstats</c> with <c>redis-cli</c>.
/// </summary>
internal sealed class RedisProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private RedisProcess(Process process, int port, string directory)
    {
        _process = process;
        Port = port;
        _directory = directory;
    }

    public int Port { get; }

    public int Pid => _process.Id;

    public string Configuration => $"127.0.0.1:{Port}";

    public static async Task<RedisProcess> StartAsync(int port)
    {
        var directory = Directory.CreateTempSubdirectory("felix-bench-redis-").FullName;
        var info = new ProcessStartInfo("redis-server",
            ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) Console.Error.WriteLine($"[redis] {line}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var redis = new RedisProcess(process, port, directory);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (!process.HasExited && (await redis.CliAsync("ping")).Trim() == "PONG")
            {
                return redis;
            }

            await Task.Delay(100);
        }

        await redis.DisposeAsync();
        throw new InvalidOperationException($"redis-server did not start on port {port}.");
    }

    public TimeSpan CpuTime() => ServerProcess.CpuTimeOf(Pid);

    public Task ResetStatsAsync() => CliAsync("config", "resetstat");

    /// <summary>Commands executed since the last reset, those called inside scripts included (<c>INFO commandstats</c>).</summary>
    public async Task<long> CommandCallsAsync()
    {
        long calls = 0;
        foreach (var line in (await CliAsync("info", "commandstats")).Split('\n'))
        {
            var start = line.IndexOf("calls=", StringComparison.Ordinal);
            if (line.StartsWith("cmdstat_", StringComparison.Ordinal) && start >= 0)
            {
                var value = line[(start + 6)..];
                calls += long.Parse(value[..value.IndexOf(',', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
            }
        }

        return calls;
    }

    private async Task<string> CliAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo("redis-cli", ["-p", Port.ToString(CultureInfo.InvariantCulture), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var cli = Process.Start(info)!;
        var output = await cli.StandardOutput.ReadToEndAsync();
        await cli.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return output;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
