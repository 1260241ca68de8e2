using System.Diagnostics;
using System.Globalization;

namespace Felix.Bench.Load;

/// <summary>
/// Scale-out throughput: one redis-server, <see cref="BenchSettings.ScaleoutNodes"/> Felix nodes on it (same key prefix,
/// distinct node names), workflows created and published on the first node, subscribers spread evenly over all nodes
/// and over the transports, so every event crosses Redis to reach the other nodes' clients. Measures deliveries/s over
/// all clients, latency, server CPU summed over the node processes, Redis's CPU, and Redis commands per published event.
/// </summary>
internal sealed class ScaleoutScenario(BenchSettings settings, IReadOnlyDictionary<string, string> felixEnvironment)
{
    private readonly RunSink _sink = new();
    private readonly List<ServerProcess> _nodes = [];
    private RedisProcess? _redis;

    public async Task<List<RunResult>> RunAsync()
    {
        try
        {
            _redis = await RedisProcess.StartAsync(settings.RedisPort);
            for (var i = 1; i <= settings.ScaleoutNodes; i++)
            {
                var environment = new Dictionary<string, string>(felixEnvironment)
                {
                    ["Felix__Redis__Configuration"] = _redis.Configuration,
                    ["Felix__Redis__NodeName"] = $"node-{i}",
                    ["Felix__Redis__KeyPrefix"] = "bench",
                };
                var node = await ServerProcess.StartAsync($"node-{i}", settings.FelixDll, settings.Port + i - 1, environment);
                _nodes.Add(node);
                Console.WriteLine($"{node.Name} (pid {node.Pid}, port {node.Port}) on redis {_redis.Configuration}");
            }

            var ids = await _nodes[0].CreateWorkflowsAsync(settings.ScaleoutWorkflows);
            var clients = await ConnectAsync(ids);
            try
            {
                await WarmUpAsync(clients, ids);
                var results = new List<RunResult>();
                for (var i = 0; i < Math.Max(1, settings.MaxRateRepeats); i++)
                {
                    results.Add(await PublishAsync("max rate", clients, ids, settings.ScaleoutEvents, rate: 0));
                }

                var paced = (int)Math.Max(1, settings.ScaleoutRate * settings.ScaleoutSeconds);
                results.Add(await PublishAsync("paced", clients, ids, paced, settings.ScaleoutRate));
                return results;
            }
            finally
            {
                foreach (var chunk in clients.Chunk(500))
                {
                    await Task.WhenAll(chunk.Select(c => c.DisposeAsync().AsTask())).WaitAsync(TimeSpan.FromSeconds(60));
                }
            }
        }
        finally
        {
            foreach (var node in _nodes)
            {
                await node.DisposeAsync();
            }

            if (_redis is not null)
            {
                await _redis.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Per workflow, its subscribers go to the nodes in turn and, within a node, to the transports in turn: every node
    /// holds clients of every workflow on every transport, in equal numbers as far as the counts divide.
    /// </summary>
    private async Task<List<BenchClient>> ConnectAsync(string[] ids)
    {
        var perWorkflow = Math.Max(1, settings.ScaleoutSubscribers / ids.Length);
        var transports = settings.Transports;
        var clients = new List<BenchClient>();
        using var gate = new SemaphoreSlim(settings.ConnectConcurrency);
        using var timeout = new CancellationTokenSource(settings.ConnectTimeout);
        var tasks = new List<Task>();
        foreach (var id in ids)
        {
            for (var j = 0; j < perWorkflow; j++)
            {
                var node = _nodes[j % _nodes.Count];
                var client = BenchClient.Create(transports[j / _nodes.Count % transports.Length], _sink, settings.SignalRClient);
                clients.Add(client);
                await gate.WaitAsync(timeout.Token);
                tasks.Add(Task.Run(async () =>
                {
                    try
                    {
                        await client.ConnectAsync(new Uri($"http://127.0.0.1:{node.Port}"), id, timeout.Token);
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
            }
        }

        await Task.WhenAll(tasks);
        return clients;
    }

    /// <summary>Unmeasured max-rate rounds until the JIT of every node has settled, as <see cref="Scenarios"/> does for one.</summary>
    private async Task WarmUpAsync(List<BenchClient> clients, string[] ids)
    {
        var rounds = 0;
        var settled = 0;
        var before = await JitMethodsAsync();
        while (settled < settings.WarmUpSettledRounds && rounds < settings.WarmUpMaxRounds)
        {
            await PublishAsync("warm-up", clients, ids, settings.ScaleoutEvents, rate: 0, print: false);
            rounds++;
            await Task.Delay(TimeSpan.FromMilliseconds(300));
            var after = await JitMethodsAsync();
            settled = after - before < settings.WarmUpSettledMethods * _nodes.Count ? settled + 1 : 0;
            before = after;
        }

        Console.WriteLine($"  warmed up in {rounds} rounds");
    }

    private async Task<long> JitMethodsAsync()
    {
        long methods = 0;
        foreach (var node in _nodes)
        {
            methods += (await node.StatsAsync(collect: false)).JitMethods;
        }

        return methods;
    }

    private TimeSpan NodesCpuTime() => _nodes.Aggregate(TimeSpan.Zero, (sum, node) => sum + node.CpuTime());

    private async Task<RunResult> PublishAsync(string scenario, List<BenchClient> clients, string[] ids, int events, double rate, bool print = true)
    {
        var expected = (long)events * clients.Count;
        _sink.Reset((int)Math.Min(expected, 32_000_000));
        var start = clients.Sum(c => c.Received);
        await _redis!.ResetStatsAsync();
        var cpu0 = NodesCpuTime();
        var redisCpu0 = _redis.CpuTime();
        var clock = Stopwatch.StartNew();
        var publish = _nodes[0].PublishAsync(ids, events, rate, settings.EventBytes);

        var (delivered, finished) = await DeliveryWait.UntilDeliveredAsync(clients, start, expected, publish, clock, settings.RunTimeout);

        var cpu = (NodesCpuTime() - cpu0).TotalSeconds;
        var redisCpu = (_redis.CpuTime() - redisCpu0).TotalSeconds;
        var commands = await _redis.CommandCallsAsync();
        await publish;
        var percentiles = _sink.Latencies.Percentiles(50, 99, 100);
        var published = (long)events * ids.Length;
        var result = new RunResult(
            $"{settings.Label} ×{_nodes.Count}", string.Join('+', settings.Transports), $"scale-out {scenario}", clients.Count, expected, delivered,
            clients.Count(c => c.Closed), finished.TotalSeconds, percentiles[0], percentiles[1], percentiles[2],
            cpu / clock.Elapsed.TotalSeconds * 100, _nodes.Sum(n => n.Rss()), double.NaN, PublishRate: rate, CpuSeconds: cpu);
        if (print)
        {
            Console.WriteLine(Report.Line(result));
            // One tab-separated line per run for bench/scaleout-throughput.sh to collect and take medians of.
            Console.WriteLine(string.Join('\t', "scaleout", settings.Label, _nodes.Count, scenario, published, delivered,
                F(result.DeliveriesPerSecond, "F0"), F(result.P50Ms, "F1"), F(result.P99Ms, "F1"), F(result.CpuMicrosPerDelivery, "F2"),
                F(redisCpu * 1e6 / Math.Max(1, delivered), "F2"), F((double)commands / published, "F2"), F(result.CpuPercent, "F0"),
                File.ReadAllText("/proc/loadavg").Split(' ')[0]));
        }

        return result;
    }

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
