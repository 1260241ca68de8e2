using System.Globalization;

namespace Felix.Bench.Load;

/// <summary>Sizes and bounds of a run; every scenario is bounded in connections, events and time.</summary>
internal sealed class BenchSettings
{
    public string FelixDll { get; set; } = "bench/Felix.Bench.Host/bin/Release/net10.0/Felix.Bench.Host.dll";
    public string BaselineDll { get; set; } = "bench/Felix.Bench.Baseline/bin/Release/net10.0/Felix.Bench.Baseline.dll";
    public string[] Transports { get; set; } = ["raw", "json", "messagepack"];
    public string[] Scenarios { get; set; } = ["fanout", "many", "tokens", "density"];

    /// <summary>SignalR clients: <c>lean</c> (hub protocol over a bare ClientWebSocket) or <c>full</c> (HubConnection).</summary>
    public string SignalRClient { get; set; } = "lean";

    /// <summary>Run the bare servers too (the Kestrel broadcaster always, a bare SignalR hub for json and messagepack).</summary>
    public bool Baselines { get; set; } = true;
    public int Port { get; set; } = 19100;
    public int EventBytes { get; set; } = 64;
    public int FanOutSubscribers { get; set; } = 1000;
    public int FanOutEvents { get; set; } = 5000;

    /// <summary>
    /// Each max-rate run (fan-out, many workflows) is repeated this many times and the median reported: one run's rate
    /// moves by up to 20% on this machine (with three, the bare baseline's median moved by as much between runs).
    /// </summary>
    public int MaxRateRepeats { get; set; } = 5;

    /// <summary>
    /// Length of the paced run at half the max rate. Its p99 is of every event of the window: over 5 s one stall of a
    /// few tens of milliseconds (a GC, the scheduler) is about 1% of the events and moved p99 by 15-20 ms between runs.
    /// </summary>
    public double HalfRateSeconds { get; set; } = 15;
    public int ManyWorkflows { get; set; } = 1000;
    public int ManySubscribers { get; set; } = 5;
    public int ManyEvents { get; set; } = 300;
    public int TokenWorkflows { get; set; } = 100;
    public int TokenSubscribers { get; set; } = 10;
    public double TokenRate { get; set; } = 20;
    public double TokenSeconds { get; set; } = 10;
    public int TokenBytes { get; set; } = 24;
    public int DensityConnections { get; set; } = 10_000;
    public int DensityWorkflows { get; set; } = 100;

    /// <summary>
    /// The density scenario is run this many times, each in a fresh server process, and the median (by RSS per connection)
    /// reported: what the GC keeps committed after a full collection moves RSS per connection by ±1.5 KiB between runs.
    /// </summary>
    public int DensityRepeats { get; set; } = 3;

    /// <summary>How long the idle connections stay connected before memory is measured (past 30 s it checks the client pings).</summary>
    public double DensityIdleSeconds { get; set; } = 2;
    /// <summary>Warm-up stops once a round compiles fewer methods than this in the server (or after <see cref="WarmUpMaxRounds"/>).</summary>
    public int WarmUpSettledMethods { get; set; } = 10;

    /// <summary>Rounds in a row that must compile fewer than <see cref="WarmUpSettledMethods"/> methods.</summary>
    public int WarmUpSettledRounds { get; set; } = 2;
    public int WarmUpMaxRounds { get; set; } = 20;
    /// <summary>Scale-out scenario: Felix nodes on one redis-server (one count per run; the script alternates builds and counts).</summary>
    public int ScaleoutNodes { get; set; } = 2;

    /// <summary>Scale-out: workflows, all created and published on the first node.</summary>
    public int ScaleoutWorkflows { get; set; } = 10;

    /// <summary>Scale-out: subscribers in all, spread evenly over the nodes, the workflows and <see cref="Transports"/>.</summary>
    public int ScaleoutSubscribers { get; set; } = 300;

    /// <summary>Scale-out: events per workflow in each max-rate run (and warm-up round).</summary>
    public int ScaleoutEvents { get; set; } = 200;

    /// <summary>Scale-out: events/s per workflow in the paced run, which measures latency below saturation.</summary>
    public double ScaleoutRate { get; set; } = 50;

    public double ScaleoutSeconds { get; set; } = 5;

    public int RedisPort { get; set; } = 6421;

    /// <summary>Reconnect storm: the real server (not the bench host), with its default settings, restarted under a crowd.</summary>
    public string ServerDll { get; set; } = "Felix.Server/bin/Release/net10.0/Felix.Server.dll";

    /// <summary>Storm: raw WebSocket clients, all with one key, spread evenly over the workflows and the source addresses.</summary>
    public int StormClients { get; set; } = 5000;

    public int StormWorkflows { get; set; } = 50;

    /// <summary>
    /// Storm: loopback source addresses of the crowd (127.0.0.2 onwards). A real crowd comes from many addresses; 50 puts
    /// 100 clients on each, a sixth of the per-address attempt limit, as a crowd behind a few NATs would be.
    /// </summary>
    public int StormAddresses { get; set; } = 50;

    /// <summary>Storm: agents per workflow; with <see cref="StormTokenDelay"/> the running ones are still running minutes later.</summary>
    public int StormMaxSteps { get; set; } = 30;

    /// <summary>Storm: the offline model's pace (<c>Felix:Llm:OfflineTokenDelay</c>), slower than the default 12 ms.</summary>
    public string StormTokenDelay { get; set; } = "00:00:00.100";

    /// <summary>Storm: how long the crowd watches before the restart.</summary>
    public double StormHoldSeconds { get; set; } = 5;

    /// <summary>Storm: the clients' backoff, exponential with full jitter from this base (the Python example's 0.2 s) ...</summary>
    public double StormBackoffBaseSeconds { get; set; } = 0.2;

    /// <summary>... up to this cap (the Python example's 5 s).</summary>
    public double StormBackoffCapSeconds { get; set; } = 5;

    /// <summary>Storm: <c>term</c> (SIGTERM, the graceful drain) or <c>kill</c> (SIGKILL, a crash: no drain, no 1001).</summary>
    public string StormStop { get; set; } = "term";

    /// <summary>Storm: the target, from the new process's readiness until every client is back and resumed.</summary>
    public double StormTargetSeconds { get; set; } = 30;

    /// <summary>Storm: how long to wait for the last clients (those told a long <c>Retry-After</c>) before giving up on them.</summary>
    public double StormTimeoutSeconds { get; set; } = 180;

    /// <summary>Storm: how long one abusive client reconnects in a tight loop once the crowd is back.</summary>
    public double StormAbuseSeconds { get; set; } = 10;

    /// <summary>Hold: raw WebSocket connections held by one Felix process together with <see cref="HoldSignalR"/> hub ones.</summary>
    public int HoldRaw { get; set; } = 20_000;

    public int HoldSignalR { get; set; } = 20_000;

    /// <summary>Hold: the hub protocol of the SignalR connections (<c>messagepack</c> or <c>json</c>).</summary>
    public string HoldProtocol { get; set; } = "messagepack";

    public int HoldWorkflows { get; set; } = 100;

    /// <summary>
    /// Hold: loopback source addresses (127.0.0.2 onwards). 80 puts 500 connection attempts on each, under the default
    /// per-address burst of 600, and 500 ports of each address's ~28,000.
    /// </summary>
    public int HoldAddresses { get; set; } = 80;

    /// <summary>Hold: idle time before the check, past the raw ping interval and SignalR's client timeout (both 30 s).</summary>
    public double HoldIdleSeconds { get; set; } = 45;

    public TimeSpan HoldConnectTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Paced runs (<c>--scenarios paced</c>): real workflows, each watched by <see cref="PacedClients"/> clients.</summary>
    public int PacedWorkflows { get; set; } = 1;

    public int PacedClients { get; set; } = 200;

    /// <summary>
    /// Paced: the offline model's pace (<c>Felix:Llm:OfflineTokenDelay</c>). 7 ms makes about 100 events/s per workflow
    /// on the 2-core VM (a token an event, plus each agent's own events).
    /// </summary>
    public string PacedTokenDelay { get; set; } = "00:00:00.007";

    /// <summary>Paced: agents per measured workflow (<c>max_steps</c>); 10 is about 700 events.</summary>
    public int PacedMaxSteps { get; set; } = 10;

    /// <summary>Paced: agents per warm-up workflow on the real server (rounds of the run's shape before it).</summary>
    public int PacedWarmUpSteps { get; set; } = 3;

    /// <summary>
    /// Paced: warm-up rounds on each server at least (each until the compilation it set off is over); more follow, up to
    /// eight, while a round still compiled code (JIT time over 0.05 s).
    /// </summary>
    public int PacedWarmUpRounds { get; set; } = 3;

    /// <summary>Paced: the bare server's warm-up replays this much of the trace to its clients first.</summary>
    public double PacedWarmUpSeconds { get; set; } = 3;

    /// <summary>Paced: pairs (the real server, then the bare one on its trace) per transport; medians and ranges reported.</summary>
    public int PacedRepeats { get; set; } = 3;

    /// <summary>Paced: how long the clients may wait for their workflows' terminal events.</summary>
    public double PacedTimeoutSeconds { get; set; } = 180;

    /// <summary>Names the build in the scale-out results (e.g. <c>before</c>, <c>after</c>).</summary>
    public string Label { get; set; } = "felix";
    public int ConnectConcurrency { get; set; } = 64;
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromMinutes(3);
    public TimeSpan RunTimeout { get; set; } = TimeSpan.FromSeconds(90);
    public string? Output { get; set; }

    /// <summary>Extra environment for both servers, <c>KEY=VALUE;KEY=VALUE</c> (runtime knobs such as the shared array pool size).</summary>
    public string ServerEnvironment { get; set; } = "";

    /// <summary><see cref="ServerEnvironment"/> as pairs.</summary>
    public Dictionary<string, string> SharedServerEnvironment() =>
        ServerEnvironment.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => pair[1]);

    /// <summary>Reads <c>--name value</c> pairs named like the properties in kebab case (<c>--fan-out-events 500</c>).</summary>
    public static BenchSettings Parse(string[] args)
    {
        var settings = new BenchSettings();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var name = args[i].TrimStart('-').Replace("-", "", StringComparison.Ordinal);
            var property = typeof(BenchSettings).GetProperties().FirstOrDefault(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"Unknown option {args[i]}.");
            var value = args[i + 1];
            object parsed = property.PropertyType switch
            {
                var t when t == typeof(int) => int.Parse(value, CultureInfo.InvariantCulture),
                var t when t == typeof(double) => double.Parse(value, CultureInfo.InvariantCulture),
                var t when t == typeof(string[]) => value.Split(',', StringSplitOptions.RemoveEmptyEntries),
                var t when t == typeof(TimeSpan) => TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture)),
                var t when t == typeof(bool) => bool.Parse(value),
                _ => value,
            };
            property.SetValue(settings, parsed);
        }

        return settings;
    }
}
