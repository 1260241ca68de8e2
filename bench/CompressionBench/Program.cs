// Compression bench for the raw WebSocket endpoint (docs/performance.md, "Compression").
//
// Against a running Felix Server (a separate process, so its CPU can be read from /proc): creates workflows, waits for
// them to finish, then reads each whole run from history over /api/v1/ws/workflows/{id}, REPEAT times, once offering
// permessage-deflate and once not. Reading finished runs isolates what streaming costs from what the engine costs.
// Reports bytes received on the TCP connection (WebSocket frames and the upgrade response), the server's CPU time and
// the client's CPU time per mode.
//
// dotnet run -c Release --project bench/CompressionBench -- --url http://127.0.0.1:18931 --key KEY --server-pid PID
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;

var options = Args.Parse(args);
using var http = new HttpClient { BaseAddress = options.Url };
if (options.Key is not null)
{
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.Key);
}

var workflowIds = new List<string>();
for (var i = 0; i < options.Workflows; i++)
{
    var created = await http.PostAsJsonAsync("api/v1/workflows", new { task = options.Task, max_steps = options.MaxSteps });
    if (created.StatusCode != HttpStatusCode.Accepted)
    {
        throw new InvalidOperationException($"create answered {(int)created.StatusCode}");
    }

    var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("workflow_id").GetString()!;
    workflowIds.Add(id);
}

foreach (var id in workflowIds)
{
    while (true)
    {
        var status = (await http.GetFromJsonAsync<JsonElement>($"api/v1/workflows/{id}")).GetProperty("status").GetString();
        if (status is "completed" or "failed" or "cancelled")
        {
            break;
        }

        await Task.Delay(100);
    }
}

Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
Console.WriteLine($"runs: {workflowIds.Count} workflows x {options.MaxSteps} max steps, each read {options.Repeat} times, query '{options.Query}'");
Console.WriteLine("mode        frames   payload bytes   wire bytes   server CPU ms   client CPU ms");

// Warm both paths first (JIT, zlib), then measure.
await MeasureAsync(options, workflowIds, deflate: true, repeat: 1);
await MeasureAsync(options, workflowIds, deflate: false, repeat: 1);
var plain = await MeasureAsync(options, workflowIds, deflate: false, options.Repeat);
var deflated = await MeasureAsync(options, workflowIds, deflate: true, options.Repeat);
Print("plain", plain);
Print("deflate", deflated);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"saved: {100 - 100.0 * deflated.WireBytes / plain.WireBytes:0.0}% of wire bytes; extra server CPU: {deflated.ServerCpuMs - plain.ServerCpuMs:0} ms over {deflated.Frames} frames ({(deflated.ServerCpuMs - plain.ServerCpuMs) * 1000 / Math.Max(1, deflated.Frames):0.0} µs/frame)"));

static void Print(string mode, Totals t) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{mode,-10} {t.Frames,7} {t.PayloadBytes,15} {t.WireBytes,12} {t.ServerCpuMs,15:0} {t.ClientCpuMs,15:0}"));

static async Task<Totals> MeasureAsync(Args options, List<string> workflowIds, bool deflate, int repeat)
{
    long wire = 0;
    using var handler = new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new CountingStream(new NetworkStream(socket, ownsSocket: true), n => Interlocked.Add(ref wire, n));
        },
    };
    using var invoker = new HttpMessageInvoker(handler);
    var serverBefore = ServerCpu(options.ServerPid);
    var clientBefore = Process.GetCurrentProcess().TotalProcessorTime;
    long frames = 0, payload = 0;
    var buffer = new byte[1 << 20];
    for (var r = 0; r < repeat; r++)
    {
        foreach (var id in workflowIds)
        {
            using var ws = new ClientWebSocket();
            if (deflate)
            {
                ws.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
            }

            var query = (options.Key is null ? "" : "api_key=" + Uri.EscapeDataString(options.Key) + "&") + options.Query;
            var uri = new Uri(new Uri(options.Url.ToString().Replace("http", "ws", StringComparison.Ordinal)), $"api/v1/ws/workflows/{id}?{query}");
            await ws.ConnectAsync(uri, invoker, CancellationToken.None);
            while (true)
            {
                var result = await ws.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                payload += result.Count;
                frames += result.EndOfMessage ? 1 : 0;
            }

            await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        }
    }

    var serverCpu = (ServerCpu(options.ServerPid) - serverBefore).TotalMilliseconds;
    var clientCpu = (Process.GetCurrentProcess().TotalProcessorTime - clientBefore).TotalMilliseconds;
    return new Totals(frames, payload, Interlocked.Read(ref wire), serverCpu, clientCpu);
}

// utime + stime of the server process, in clock ticks (100 Hz on Linux).
static TimeSpan ServerCpu(int? pid)
{
    if (pid is null)
    {
        return TimeSpan.Zero;
    }

    var stat = File.ReadAllText($"/proc/{pid}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    return TimeSpan.FromMilliseconds(ticks * 10);
}

internal sealed record Totals(long Frames, long PayloadBytes, long WireBytes, double ServerCpuMs, double ClientCpuMs);

internal sealed record Args(Uri Url, string? Key, int? ServerPid, int Workflows, int MaxSteps, int Repeat, string Query, string Task)
{
    public static Args Parse(string[] args)
    {
        string? Get(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        int Int(string name, int fallback) => Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        return new Args(
            new Uri((Get("--url") ?? "http://127.0.0.1:8000").TrimEnd('/') + "/"),
            Get("--key") ?? Environment.GetEnvironmentVariable("FELIX_API_KEY"),
            Get("--server-pid") is { } pid ? int.Parse(pid, CultureInfo.InvariantCulture) : null,
            Int("--workflows", 5),
            Int("--max-steps", 5),
            Int("--repeat", 20),
            Get("--query") ?? "",
            Get("--task") ?? "Explain quantum computing in simple terms");
    }
}

/// <summary>Counts the bytes read from the connection (what the server sent).</summary>
internal sealed class CountingStream(Stream inner, Action<int> onRead) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = inner.Read(buffer, offset, count);
        onRead(n);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        onRead(n);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
