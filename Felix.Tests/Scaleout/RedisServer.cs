using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Scaleout;

/// <summary>
/// A real redis-server of the test's own on a free loopback port, without persistence, stopped with the test class.
/// <see cref="StopAsync"/> and <see cref="StartAsync"/> restart it on the same port (with its data gone).
/// </summary>
public class RedisServer : IAsyncLifetime
{
    /// <summary>How the server keeps its data: here not at all, so a restart comes back empty.</summary>
    private protected virtual string[] PersistenceArguments => ["--save", "", "--appendonly", "no"];

    private readonly string _directory = Directory.CreateTempSubdirectory("felix-redis-").FullName;
    private Process? _process;

    public int Port { get; } = LoopbackPort.Unused();

    /// <summary>
    /// The StackExchange.Redis configuration string for <c>Felix:Redis:Configuration</c>. The timeouts are generous: on a
    /// 2-core machine running the whole suite, the first connect can take longer than the 5 s default, and the server
    /// fails commands fast while it is not connected.
    /// </summary>
    public string Configuration => $"127.0.0.1:{Port},connectTimeout=20000,syncTimeout=20000,asyncTimeout=20000";

    public Task InitializeAsync() => StartAsync();

    /// <summary>False after <see cref="StopAsync"/> until the next <see cref="StartAsync"/>.</summary>
    public bool IsRunning => _process is not null;

    public async Task DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(_directory, recursive: true);
    }

    public async Task StartAsync()
    {
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--dir", _directory, "--daemonize", "no" }.Concat(PersistenceArguments))
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start (is it installed? scripts/install-test-deps.sh)");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Poll.UntilAsync(PingAsync, "redis-server to answer PING");
    }

    /// <summary>
    /// Kills the server. With <paramref name="keepData"/> it first writes a snapshot that the next <see cref="StartAsync"/>
    /// loads, as a Redis with persistence comes back from a restart; otherwise the next start is empty.
    /// </summary>
    public async Task StopAsync(bool keepData = false)
    {
        if (_process is not { } process)
        {
            return;
        }

        if (keepData && !await SendAsync("SAVE", "+OK"))
        {
            throw new InvalidOperationException("redis-server did not save its snapshot");
        }

        _process = null;
        if (!process.HasExited)
        {
            process.Kill();
        }

        await process.WaitForExitAsync().DefaultTimeout();
        process.Dispose();
        if (!keepData)
        {
            File.Delete(Path.Combine(_directory, "dump.rdb"));
        }
    }

    /// <summary>SIGSTOP, then SIGCONT after <paramref name="frozenFor"/>: Redis stops answering, connections stay open.</summary>
    public async Task FreezeAsync(TimeSpan frozenFor)
    {
        var pid = _process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await SignalAsync("STOP", pid);
        try
        {
            await Task.Delay(frozenFor);
        }
        finally
        {
            await SignalAsync("CONT", pid);
        }
    }

    private static async Task SignalAsync(string signal, string pid)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid])!;
        await kill.WaitForExitAsync().DefaultTimeout();
    }

    private Task<bool> PingAsync() => SendAsync("PING", "+PONG");

    private async Task<bool> SendAsync(string command, string expected)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"));
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer).AsTask().DefaultTimeout();
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith(expected, StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }
}

/// <summary>
/// A redis-server that keeps its data as production should (AOF, <c>appendonly yes</c>), written to disk before each
/// command is answered, so a restart, even after the SIGKILL of <see cref="RedisServer.StopAsync"/>, comes back with
/// everything it acknowledged.
/// </summary>
public sealed class PersistentRedisServer : RedisServer
{
    private protected override string[] PersistenceArguments => ["--save", "", "--appendonly", "yes", "--appendfsync", "always"];
}
