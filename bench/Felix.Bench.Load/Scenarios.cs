using System.Globalization;
using System.Diagnostics;

namespace Felix.Bench.Load;

/// <summary>One measured run: what was published, what arrived, how fast, how late, at what cost to the server.</summary>
internal sealed record RunResult(
    string Target,
    string Transport,
    string Scenario,
    int Connections,
    long Expected,
    long Delivered,
    int ClosedClients,
    double Seconds,
    double P50Ms,
    double P99Ms,
    double MaxMs,
    double CpuPercent,
    long RssBytes,
    double AllocatedPerDelivery,
    double BytesPerConnection = double.NaN,
    double HeapPerConnection = double.NaN,
    double PublishRate = 0,
    int ServerGen0 = 0,
    int ServerGen2 = 0,
    double CpuSeconds = double.NaN,
    double ServerGcPauseMs = double.NaN,
    double GeneratorGcPauseMs = double.NaN,
    double ServerJitMs = double.NaN,
    int Repeats = 1,
    double SlowestPerSecond = double.NaN,
    double FastestPerSecond = double.NaN,
    double LeastBytesPerConnection = double.NaN,
    double MostBytesPerConnection = double.NaN)
{
    /// <summary>Methods the server's JIT compiled during the run (its time, <see cref="ServerJitMs"/>, is wall time and grows when the JIT thread waits for a core).</summary>
    public long ServerJitMethods { get; init; }

    /// <summary>Density: RSS growth per connection from half the connections to all of them.</summary>
    public double MarginalBytesPerConnection { get; init; } = double.NaN;

    public double LeastMarginalBytesPerConnection { get; init; } = double.NaN;

    public double MostMarginalBytesPerConnection { get; init; } = double.NaN;

    /// <summary>
    /// Density: the whole process's RSS growth per connection, from the fresh process just ready (no connection, no
    /// workflow, nothing collected) to all the connections (after a full collection): one-off costs included.
    /// </summary>
    public double WholeProcessBytesPerConnection { get; init; } = double.NaN;

    public double LeastWholeProcessBytesPerConnection { get; init; } = double.NaN;

    public double MostWholeProcessBytesPerConnection { get; init; } = double.NaN;

    /// <summary>
    /// Repeated density runs: the median run by RSS per connection, with the spread; the marginal figure is the median
    /// of the runs' marginal figures (each measure's own median, not the one of the run picked by the other).
    /// </summary>
    public static RunResult MedianDensity(IReadOnlyList<RunResult> runs)
    {
        var sorted = runs.OrderBy(r => r.BytesPerConnection).ToList();
        var marginal = runs.Select(r => r.MarginalBytesPerConnection).Order().ToList();
        var whole = runs.Select(r => r.WholeProcessBytesPerConnection).Order().ToList();
        return sorted[sorted.Count / 2] with
        {
            WholeProcessBytesPerConnection = whole[whole.Count / 2],
            LeastWholeProcessBytesPerConnection = whole[0],
            MostWholeProcessBytesPerConnection = whole[^1],
            Repeats = sorted.Count,
            LeastBytesPerConnection = sorted[0].BytesPerConnection,
            MostBytesPerConnection = sorted[^1].BytesPerConnection,
            MarginalBytesPerConnection = marginal[marginal.Count / 2],
            LeastMarginalBytesPerConnection = marginal[0],
            MostMarginalBytesPerConnection = marginal[^1],
        };
    }

    /// <summary>Server CPU time per delivered event: what the server spent, whatever the generator could take.</summary>
    public double CpuMicrosPerDelivery => Delivered > 0 ? CpuSeconds * 1e6 / Delivered : double.NaN;

    public long Dropped => Expected - Delivered;

    public double DeliveriesPerSecond => Seconds > 0 ? Delivered / Seconds : 0;
}

/// <summary>The four scenarios, run against one server process with one transport.</summary>
internal sealed class Scenarios(ServerProcess server, string transport, BenchSettings settings)
{
    /// <summary>Latencies kept per run (4 bytes each): the half-rate fan-out delivers about 20 M in its 15 s.</summary>
    private const int MaxLatencySamples = 32_000_000;

    private readonly RunSink _sink = new();
    private readonly Uri _uri = new($"http://127.0.0.1:{server.Port}");

    private string Target => server.Name;

    /// <summary>The transport as reported: SignalR runs with the full HubConnection client are marked as such.</summary>
    private readonly string _label = transport != "raw" && settings.SignalRClient == "full" ? transport + " (full client)" : transport;

    /// <summary>One workflow, many subscribers: the maximum delivery rate, then latency at half of it.</summary>
    public Task<List<RunResult>> FanOutAsync() =>
        WithWarmClientsAsync(1, settings.FanOutSubscribers, settings.FanOutEvents, settings.FanOutEvents, async (clients, ids) =>
        {
            var max = await MedianOfRepeatsAsync("fan-out max", clients, ids, settings.FanOutEvents);
            var half = Math.Max(1, max.DeliveriesPerSecond / clients.Count / 2);
            var events = (int)Math.Max(10, half * settings.HalfRateSeconds);
            // Paced publishing runs code the max-rate warm-up never did (the pacing, a send per event rather than per
            // batch): without its own warm-up both servers spent about a second of the 15 s in the JIT, on one of the
            // two cores, and p99 moved with it.
            await WarmUpAsync(clients, ids, (int)Math.Max(10, half), half);
            var halfRun = await PublishAsync("fan-out half rate", clients, ids, events, half, settings.EventBytes);
            return [max, halfRun];
        });

    /// <summary>Many workflows with a few subscribers each, every workflow publishing as fast as it can.</summary>
    public Task<List<RunResult>> ManyWorkflowsAsync() =>
        WithWarmClientsAsync(settings.ManyWorkflows, settings.ManySubscribers, settings.ManyEvents, settings.ManyEvents, async (clients, ids) =>
            [await MedianOfRepeatsAsync("many workflows", clients, ids, settings.ManyEvents)]);

    /// <summary>Agent text at a realistic rate: latency under a steady load.</summary>
    public Task<List<RunResult>> TokenStreamingAsync()
    {
        var events = (int)(settings.TokenRate * settings.TokenSeconds);
        return WithWarmClientsAsync(settings.TokenWorkflows, settings.TokenSubscribers, events, Math.Max(5, events / 10), async (clients, ids) =>
            [await PublishAsync("token streaming", clients, ids, events, settings.TokenRate, settings.TokenBytes)]);
    }

    /// <summary>
    /// Creates the workflows, connects the subscribers, warms the server up in rounds of <paramref name="warmUpEvents"/>
    /// per workflow (the max-rate runs: rounds as large as the run, since smaller ones left code that only a full run
    /// reaches, such as waiting for full pipes, to be compiled during the measured runs), runs <paramref name="measure"/>,
    /// disconnects.
    /// </summary>
    private async Task<List<RunResult>> WithWarmClientsAsync(
        int workflows, int perWorkflow, int events, int warmUpEvents, Func<List<BenchClient>, string[], Task<List<RunResult>>> measure)
    {
        var ids = await server.CreateWorkflowsAsync(workflows);
        var clients = await ConnectAsync(ids, perWorkflow);
        try
        {
            await WarmUpAsync(clients, ids, warmUpEvents, rate: 0);
            return await measure(clients, ids);
        }
        finally
        {
            await DisconnectAsync(clients);
        }
    }

    /// <summary>
    /// Idle subscribed connections: server memory per connection after a full GC, as the growth from none to all of them
    /// divided by their number, and as the growth from half of them to all (the marginal cost, which leaves out what a
    /// burst of connections costs once, such as thread-pool threads, and so does not shrink as the count grows); and the
    /// whole process's growth from just ready (the process is fresh, see <see cref="LoadGenerator"/>) to all of them.
    /// </summary>
    public async Task<List<RunResult>> DensityAsync()
    {
        var rssReady = server.Rss();
        var ids = await server.CreateWorkflowsAsync(settings.DensityWorkflows);
        // Connect and drop a few clients first, so what is allocated once on first use (metric streams, pools, caches,
        // jitted code's data) is in the "before" figure rather than spread over the connections measured.
        await DisconnectAsync(await ConnectAsync(ids, 1));
        var before = await server.StatsAsync(collect: true);
        var rssBefore = server.Rss();
        await server.StatsAsync(collect: true, aggressive: true);
        var trimmedBefore = server.Rss();
        var perWorkflow = Math.Max(2, settings.DensityConnections / ids.Length);
        var clients = await ConnectAsync(ids, perWorkflow / 2);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(settings.DensityIdleSeconds));
            var half = await server.StatsAsync(collect: true);
            var rssHalf = server.Rss();
            var halfCount = clients.Count;
            clients.AddRange(await ConnectAsync(ids, perWorkflow - perWorkflow / 2));
            await Task.Delay(TimeSpan.FromSeconds(settings.DensityIdleSeconds));
            var after = await server.StatsAsync(collect: true);
            var rssAfter = server.Rss();
            await server.StatsAsync(collect: true, aggressive: true);
            var trimmedAfter = server.Rss();
            var n = clients.Count;
            var marginal = (double)(rssAfter - rssHalf) / (n - halfCount);
            var whole = (double)(rssAfter - rssReady) / n;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {Target}/{_label} density: {n:N0} idle for {settings.DensityIdleSeconds:F0} s, {(double)(rssAfter - rssBefore) / n / 1024:F1} KiB RSS/conn, " +
                $"whole process {rssReady / 1048576.0:F1} MiB ready -> {rssAfter / 1048576.0:F1} MiB = {whole / 1024:F1} KiB/conn, " +
                $"{marginal / 1024:F1} KiB marginal RSS/conn ({halfCount:N0} -> {n:N0}), " +
                $"{(double)(after.HeapBytes - before.HeapBytes) / n / 1024:F1} KiB heap/conn ({(double)(after.HeapBytes - half.HeapBytes) / (n - halfCount) / 1024:F1} marginal), " +
                $"{(double)(after.GcCommittedBytes - before.GcCommittedBytes) / n / 1024:F1} KiB GC-committed/conn " +
                $"(fragmented {after.GcFragmentedBytes / 1048576.0:F1} MiB), {(double)(trimmedAfter - trimmedBefore) / n / 1024:F1} KiB RSS/conn after an aggressive GC, closed {clients.Count(c => c.Closed)}"));
            return
            [
                new RunResult(Target, _label, "density (idle)", n, 0, 0, clients.Count(c => c.Closed), 0, double.NaN, double.NaN, double.NaN,
                    double.NaN, rssAfter, double.NaN, (double)(rssAfter - rssBefore) / n, (double)(after.HeapBytes - before.HeapBytes) / n)
                {
                    MarginalBytesPerConnection = marginal,
                    WholeProcessBytesPerConnection = whole,
                },
            ];
        }
        finally
        {
            await DisconnectAsync(clients);
        }
    }

    /// <summary>
    /// Unmeasured rounds of <paramref name="events"/> events per workflow at <paramref name="rate"/> (0: as fast as
    /// possible) until the server's JIT has settled (<see cref="BenchSettings.WarmUpSettledRounds"/> rounds in a row, each
    /// with its short pause, compiled fewer than <see cref="BenchSettings.WarmUpSettledMethods"/> methods), so the measured run sees
    /// tier-1 code and warmed pools on both servers, as a server that has been up for a while does. One round was not
    /// enough: tiering waits for call counts and a quiet moment, and the many-workflows run then spent a seventh of its
    /// samples in the JIT.
    /// </summary>
    private async Task WarmUpAsync(List<BenchClient> clients, string[] ids, int events, double rate)
    {
        var before = await server.StatsAsync(collect: false);
        var rounds = 0;
        var settled = 0;
        while (true)
        {
            await PublishAsync("warm-up", clients, ids, events, rate, settings.EventBytes, print: false);
            rounds++;
            await Task.Delay(TimeSpan.FromMilliseconds(300));
            var after = await server.StatsAsync(collect: false);
            var compiled = after.JitMethods - before.JitMethods;
            before = after;
            settled = compiled < settings.WarmUpSettledMethods ? settled + 1 : 0;
            if (settled >= settings.WarmUpSettledRounds || rounds >= settings.WarmUpMaxRounds)
            {
                Console.WriteLine($"  {Target}/{_label}: warmed up{(rate > 0 ? $" at {rate:F0} events/s" : "")} in {rounds} rounds (last compiled {compiled} methods)");
                return;
            }
        }
    }

    /// <summary>
    /// A max-rate run repeated <see cref="BenchSettings.MaxRateRepeats"/> times; the median by deliveries per second is
    /// reported, with the slowest and fastest. Max-rate SignalR runs settle either in small frames or in batched ones
    /// and moved by up to 1.5x between back-to-back runs, more than the differences they are meant to show.
    /// </summary>
    private async Task<RunResult> MedianOfRepeatsAsync(string scenario, List<BenchClient> clients, string[] ids, int events)
    {
        var runs = new List<RunResult>();
        for (var i = 0; i < Math.Max(1, settings.MaxRateRepeats); i++)
        {
            runs.Add(await PublishAsync(scenario, clients, ids, events, rate: 0, settings.EventBytes));
        }

        var sorted = runs.OrderBy(r => r.DeliveriesPerSecond).ToList();
        return sorted[sorted.Count / 2] with
        {
            Repeats = sorted.Count,
            SlowestPerSecond = sorted[0].DeliveriesPerSecond,
            FastestPerSecond = sorted[^1].DeliveriesPerSecond,
        };
    }

    private async Task<RunResult> PublishAsync(string scenario, List<BenchClient> clients, string[] ids, int events, double rate, int bytes, bool print = true)
    {
        var expected = (long)events * clients.Count;
        _sink.Reset((int)Math.Min(expected, MaxLatencySamples));
        var start = clients.Sum(c => c.Received);
        var stats0 = await server.StatsAsync(collect: false);
        var cpu0 = server.CpuTime();
        var pause0 = GC.GetTotalPauseDuration();
        var clock = Stopwatch.StartNew();
        var publish = server.PublishAsync(ids, events, rate, bytes);

        var (delivered, finished) = await DeliveryWait.UntilDeliveredAsync(clients, start, expected, publish, clock, settings.RunTimeout);

        var cpu1 = server.CpuTime();
        await publish;
        var stats1 = await server.StatsAsync(collect: false);
        var percentiles = _sink.Latencies.Percentiles(50, 99, 100);
        var seconds = finished.TotalSeconds;
        var result = new RunResult(
            Target, _label, scenario, clients.Count, expected, delivered, clients.Count(c => c.Closed), seconds,
            percentiles[0], percentiles[1], percentiles[2],
            (cpu1 - cpu0).TotalSeconds / clock.Elapsed.TotalSeconds * 100, server.Rss(),
            delivered > 0 ? (double)(stats1.AllocatedBytes - stats0.AllocatedBytes) / delivered : double.NaN,
            PublishRate: rate,
            ServerGen0: stats1.Gen0 - stats0.Gen0,
            ServerGen2: stats1.Gen2 - stats0.Gen2,
            CpuSeconds: (cpu1 - cpu0).TotalSeconds,
            ServerGcPauseMs: stats1.GcPauseMs - stats0.GcPauseMs,
            GeneratorGcPauseMs: (GC.GetTotalPauseDuration() - pause0).TotalMilliseconds,
            ServerJitMs: stats1.JitMs - stats0.JitMs)
        {
            ServerJitMethods = stats1.JitMethods - stats0.JitMethods,
        };
        if (print)
        {
            Console.WriteLine(Report.Line(result));
        }

        return result;
    }

    private async Task<List<BenchClient>> ConnectAsync(string[] ids, int perWorkflow)
    {
        var clients = new List<BenchClient>(ids.Length * perWorkflow);
        using var gate = new SemaphoreSlim(settings.ConnectConcurrency);
        using var timeout = new CancellationTokenSource(settings.ConnectTimeout);
        var clock = Stopwatch.StartNew();
        var tasks = new List<Task>();
        foreach (var id in ids)
        {
            for (var i = 0; i < perWorkflow; i++)
            {
                var client = BenchClient.Create(transport, _sink, settings.SignalRClient);
                clients.Add(client);
                await gate.WaitAsync(timeout.Token);
                tasks.Add(Task.Run(async () =>
                {
                    try
                    {
                        await client.ConnectAsync(_uri, id, timeout.Token);
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
            }
        }

        await Task.WhenAll(tasks);
        Console.WriteLine($"  {Target}/{_label}: {clients.Count} connections in {clock.Elapsed.TotalSeconds:F1} s");
        return clients;
    }

    private static async Task DisconnectAsync(List<BenchClient> clients)
    {
        foreach (var chunk in clients.Chunk(500))
        {
            await Task.WhenAll(chunk.Select(c => c.DisposeAsync().AsTask())).WaitAsync(TimeSpan.FromSeconds(60));
        }

        // Let the server notice the closes before the next scenario measures it.
        await Task.Delay(TimeSpan.FromSeconds(1));
    }
}
