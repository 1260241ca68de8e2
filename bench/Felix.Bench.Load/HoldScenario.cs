using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Felix.Bench.Load;

/// <summary>
/// One Felix process (the bench host, as the density scenario runs it) holding <see cref="BenchSettings.HoldRaw"/> raw
/// WebSocket and <see cref="BenchSettings.HoldSignalR"/> SignalR connections at once, all idle: the raw ones first, then
/// the hub ones, each spread over the workflows and over <see cref="BenchSettings.HoldAddresses"/> loopback source
/// addresses (127.0.0.2 onwards; one address has only ~28,000 ephemeral ports). After an idle period longer than the
/// server's ping interval and SignalR's client timeout, every connection must still be open, by the clients' account
/// and by the server's own count (<c>GET /api/v1/system/status</c>). RSS is read from the fresh process just ready, after
/// the raw connections and after all of them, each time after a full collection but the first.
/// </summary>
internal sealed class HoldScenario(BenchSettings settings, IReadOnlyDictionary<string, string> felixEnvironment)
{
    private readonly RunSink _sink = new();

    public async Task<string> RunAsync()
    {
        var total = settings.HoldRaw + settings.HoldSignalR;
        var environment = new Dictionary<string, string>(felixEnvironment)
        {
            // An open server is one principal for every client, so its cap (default 10,000) must cover the whole crowd;
            // the principal's attempt burst follows it. The per-address attempt burst (600) and the node's cap (50,000)
            // stay at their defaults: the crowd is spread so that no address makes more than 600 attempts.
            ["Felix__Limits__MaxConnectionsPerPrincipal"] = Math.Max(10_000, total).ToString(CultureInfo.InvariantCulture),
        };
        var generatorFiles = OpenFilesLimit("self");
        await using var server = await ServerProcess.StartAsync("felix", settings.FelixDll, settings.Port, environment);
        var rssReady = server.Rss();
        var serverFiles = OpenFilesLimit(server.Pid.ToString(CultureInfo.InvariantCulture));
        Console.WriteLine($"hold: felix pid {server.Pid}, port {server.Port}; open files: generator {generatorFiles}, server {serverFiles}; RSS ready {Mib(rssReady)} MiB");
        // A socket per connection on each side, plus what each process has open anyway (about 150 for the server).
        if (generatorFiles < total + 200 || serverFiles < total + 200)
        {
            throw new InvalidOperationException(
                $"{total:N0} connections need more open files than the limits allow (generator {generatorFiles:N0}, server {serverFiles:N0}): " +
                "raise the hard `ulimit -n` in the shell that starts the generator (needs CAP_SYS_RESOURCE), or hold fewer.");
        }

        var sources = Enumerable.Range(0, settings.HoldAddresses).Select(i => new StormSource(new IPAddress([127, 0, 0, (byte)(2 + i)]))).ToList();
        var uri = new Uri($"http://127.0.0.1:{server.Port}");
        var ids = await server.CreateWorkflowsAsync(settings.HoldWorkflows);
        var clients = new List<BenchClient>(total);
        try
        {
            var clock = Stopwatch.StartNew();
            clients.AddRange(await ConnectAsync(uri, ids, sources, "raw", settings.HoldRaw, first: 0));
            var rawSeconds = clock.Elapsed.TotalSeconds;
            await Task.Delay(TimeSpan.FromSeconds(2));
            await server.StatsAsync(collect: true);
            var rssRaw = server.Rss();
            clock.Restart();
            clients.AddRange(await ConnectAsync(uri, ids, sources, settings.HoldProtocol, settings.HoldSignalR, first: settings.HoldRaw));
            var hubSeconds = clock.Elapsed.TotalSeconds;
            for (var idle = 0.0; idle < settings.HoldIdleSeconds; idle += 15)
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(15, settings.HoldIdleSeconds - idle)));
                Console.WriteLine($"  idle {Math.Min(idle + 15, settings.HoldIdleSeconds):F0} s: {clients.Count(c => c.Closed)} closed by the clients' account; server counts {await ConnectionsAsync(server)}");
            }

            var counted = await ConnectionsAsync(server);
            var stats = await server.StatsAsync(collect: true);
            var rssAll = server.Rss();
            await server.StatsAsync(collect: true, aggressive: true);
            var rssTrimmed = server.Rss();
            var closedRaw = clients.Take(settings.HoldRaw).Count(c => c.Closed);
            var closedHub = clients.Skip(settings.HoldRaw).Count(c => c.Closed);
            using var generator = Process.GetCurrentProcess();
            var report = string.Create(CultureInfo.InvariantCulture, $"""
                | hold: one Felix process (bench host) | |
                |---|---|
                | connections | {settings.HoldRaw:N0} raw + {settings.HoldSignalR:N0} SignalR ({settings.HoldProtocol}) over {ids.Length} workflows, from {sources.Count} source addresses (127.0.0.2–127.0.0.{1 + sources.Count}) |
                | connected in | raw {rawSeconds:F1} s, SignalR {hubSeconds:F1} s ({settings.ConnectConcurrency} handshakes at a time) |
                | open after {settings.HoldIdleSeconds:F0} s idle, clients' account | raw {settings.HoldRaw - closedRaw:N0} of {settings.HoldRaw:N0}, SignalR {settings.HoldSignalR - closedHub:N0} of {settings.HoldSignalR:N0} |
                | open, server's count (`/api/v1/system/status`) | {counted} |
                | open files limit (soft) | generator {generatorFiles:N0}, server {serverFiles:N0} |
                | server RSS: ready / raw held / all held / all after an aggressive GC | {Mib(rssReady)} / {Mib(rssRaw)} / {Mib(rssAll)} / {Mib(rssTrimmed)} MiB |
                | RSS per raw connection (ready → raw held) | {Kib(rssRaw - rssReady, settings.HoldRaw)} KiB |
                | RSS per SignalR connection (raw held → all held) | {Kib(rssAll - rssRaw, settings.HoldSignalR)} KiB |
                | RSS per connection, whole process (ready → all held) | {Kib(rssAll - rssReady, total)} KiB |
                | live heap with all held | {Mib(stats.HeapBytes)} MiB ({Kib(stats.HeapBytes, total)} KiB per connection, whole heap) |
                | generator RSS | {Mib(generator.WorkingSet64)} MiB |

                """);
            Console.WriteLine();
            Console.WriteLine(report);
            return report;
        }
        finally
        {
            foreach (var chunk in clients.Chunk(1000))
            {
                await Task.WhenAll(chunk.Select(c => c.DisposeAsync().AsTask())).WaitAsync(TimeSpan.FromSeconds(60));
            }

            sources.ForEach(s => s.Dispose());
        }
    }

    /// <summary>
    /// Client <c>first + i</c> goes to workflow <c>(first + i) mod W</c> from address <c>(first + i) mod A</c>, so every
    /// address carries as many of each transport, and no address makes more attempts than its share.
    /// </summary>
    private async Task<List<BenchClient>> ConnectAsync(Uri uri, string[] ids, List<StormSource> sources, string transport, int count, int first)
    {
        var clients = new List<BenchClient>(count);
        using var gate = new SemaphoreSlim(settings.ConnectConcurrency);
        using var timeout = new CancellationTokenSource(settings.HoldConnectTimeout);
        var clock = Stopwatch.StartNew();
        var done = 0;
        var tasks = new List<Task>(count);
        for (var i = first; i < first + count; i++)
        {
            var client = BenchClient.Create(transport, _sink);
            var id = ids[i % ids.Length];
            var source = sources[i % sources.Count];
            clients.Add(client);
            await gate.WaitAsync(timeout.Token);
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    await client.ConnectAsync(uri, id, source.Invoker, timeout.Token);
                    if (Interlocked.Increment(ref done) % 5000 == 0)
                    {
                        Console.WriteLine($"  {transport}: {Volatile.Read(ref done):N0} connected in {clock.Elapsed.TotalSeconds:F1} s");
                    }
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Task.WhenAll(tasks);
        Console.WriteLine($"  {transport}: {count:N0} connections in {clock.Elapsed.TotalSeconds:F1} s");
        return clients;
    }

    /// <summary>The server's own count of open streaming connections, by transport.</summary>
    private static async Task<string> ConnectionsAsync(ServerProcess server)
    {
        using var status = JsonDocument.Parse(await server.Http.GetStringAsync("/api/v1/system/status"));
        var text = new StringBuilder();
        foreach (var property in status.RootElement.EnumerateObject().Where(p => p.Name.Equals("connections", StringComparison.OrdinalIgnoreCase)))
        {
            foreach (var transport in property.Value.EnumerateObject())
            {
                text.Append(CultureInfo.InvariantCulture, $"{(text.Length > 0 ? ", " : "")}{transport.Name} {transport.Value.GetInt32():N0}");
            }
        }

        return text.ToString();
    }

    /// <summary>The soft "Max open files" limit of a process (<c>self</c> or a pid), from /proc.</summary>
    private static long OpenFilesLimit(string process)
    {
        var line = File.ReadLines($"/proc/{process}/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        return long.Parse(line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);

    private static string Kib(long bytes, int count) => (bytes / 1024.0 / count).ToString("F1", CultureInfo.InvariantCulture);
}
