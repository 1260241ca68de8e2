namespace Felix.Bench.Load;

/// <summary>
/// Load generator: starts the bare baseline and Felix (benchmark mode) as separate processes on loopback ports, runs each
/// scenario per transport against them, and prints a Markdown table (<c>paced</c>, <c>storm</c> and <c>scaleout</c>
/// run the real server or several nodes instead, each alone). Every run is bounded in connections, events and time.
/// </summary>
internal static class LoadGenerator
{
    public static async Task Main(string[] args)
    {
        var settings = BenchSettings.Parse(args);
        ThreadPool.SetMinThreads(64, 64);
        var results = new List<RunResult>();

        var felixEnvironment = new Dictionary<string, string>
        {
            // Production (no environment set) refuses to run without credentials unless told it is meant.
            ["Felix__Security__AllowAnonymous"] = "true",
            ["Felix__Storage__Provider"] = "InMemory",
            ["Felix__Limits__MaxConnectionsPerPrincipal"] = "1000000",
            ["Felix__Limits__MaxConnections"] = "1000000",
            ["Felix__Limits__ConnectionAttemptsPerMinute"] = "10000000",
            // The max-rate runs publish faster than clients read; the baseline queues without bound, so Felix gets room too.
            ["Felix__Streaming__SendQueueCapacity"] = "1000000",
            ["Felix__Compat__EnableCompression"] = "false",
        };

        var shared = settings.SharedServerEnvironment();
        var baselineEnvironment = new Dictionary<string, string>(shared);
        foreach (var (key, value) in shared)
        {
            felixEnvironment[key] = value;
        }

        if (settings.Scenarios is ["scaleout"])
        {
            // Felix nodes only: a bare server has no scale-out to compare with.
            results.AddRange(await new ScaleoutScenario(settings, felixEnvironment).RunAsync());
            await WriteAsync(settings, results);
            return;
        }

        if (settings.Scenarios is ["storm"])
        {
            // The real server with its defaults, restarted under a crowd: none of the bench host's settings above apply.
            var report = await new StormScenario(settings).RunAsync();
            if (settings.Output is { } output)
            {
                await File.WriteAllTextAsync(output, report);
            }

            return;
        }

        if (settings.Scenarios is ["hold"] or ["paced"])
        {
            // Hold: Felix only, with its default limits but one (HoldScenario): none of the raised limits above apply.
            // Paced: real workflows on the real server, against the bare servers replaying what it sent.
            var report = settings.Scenarios is ["hold"]
                ? await new HoldScenario(settings, felixEnvironment
                    .Where(pair => !pair.Key.StartsWith("Felix__Limits__", StringComparison.Ordinal) && pair.Key != "Felix__Streaming__SendQueueCapacity")
                    .ToDictionary()).RunAsync()
                : await new PacedScenario(settings).RunAsync();
            if (settings.Output is { } output)
            {
                await File.WriteAllTextAsync(output, report);
            }

            return;
        }

        var kestrelHubEnvironment = new Dictionary<string, string>(baselineEnvironment) { ["Bench__Hubs"] = "kestrel" };
        var rawOnlyEnvironment = new Dictionary<string, string>(baselineEnvironment) { ["Bench__Hubs"] = "none" };

        var port = settings.Port;
        // Each transport against its bare counterparts, the bare ones first: bare Kestrel sending the same bytes to the
        // same clients (raw: the broadcaster; json, messagepack: the hub's bytes on the hub's path, target "kestrel"),
        // and for the hub transports a bare SignalR hub. Felix is also compared with the raw broadcaster on every transport.
        var targets = new List<(string Name, string Dll, string Transport, Dictionary<string, string> Environment)>();
        var transports = settings.Transports.ToList();
        if (!transports.Contains("raw") && settings.Baselines)
        {
            targets.Add(("baseline", settings.BaselineDll, "raw", rawOnlyEnvironment));
        }

        foreach (var transport in transports)
        {
            // The full client negotiates first, which only a SignalR server answers.
            if (settings.Baselines && transport != "raw" && settings.SignalRClient != "full")
            {
                targets.Add(("kestrel", settings.BaselineDll, transport, kestrelHubEnvironment));
            }

            if (settings.Baselines)
            {
                targets.Add(("baseline", settings.BaselineDll, transport, transport == "raw" ? rawOnlyEnvironment : baselineEnvironment));
            }

            targets.Add(("felix", settings.FelixDll, transport, felixEnvironment));
        }

        // Scenario by scenario, each baseline and the Felix transport right after it: the runs compared in a ratio are
        // minutes apart at most, so a machine that gets busier or quieter during the run moves both alike.
        foreach (var scenario in settings.Scenarios)
        {
            foreach (var (name, dll, transport, environment) in targets)
            {
                var runs = new List<List<RunResult>>();
                for (var i = 0; i < (scenario == "density" ? Math.Max(1, settings.DensityRepeats) : 1); i++)
                {
                    // A fresh process per scenario (and per density repeat): one run's garbage and pools do not weigh on the
                    // next one's figures.
                    await using var server = await ServerProcess.StartAsync(name, dll, port++, environment);
                    Console.WriteLine($"{name}/{transport} {scenario} (pid {server.Pid}, port {server.Port})");
                    var scenarios = new Scenarios(server, transport, settings);
                    runs.Add(scenario switch
                    {
                        "fanout" => await scenarios.FanOutAsync(),
                        "many" => await scenarios.ManyWorkflowsAsync(),
                        "tokens" => await scenarios.TokenStreamingAsync(),
                        "density" => await scenarios.DensityAsync(),
                        _ => throw new ArgumentException($"Unknown scenario {scenario}."),
                    });
                }

                results.AddRange(runs.Count == 1 ? runs[0] : [RunResult.MedianDensity(runs.Select(r => r.Single()).ToList())]);
            }
        }

        await WriteAsync(settings, results);
    }

    private static async Task WriteAsync(BenchSettings settings, List<RunResult> results)
    {
        var table = Report.Markdown(results);
        Console.WriteLine();
        Console.WriteLine(table);
        if (settings.Output is { } output)
        {
            await File.WriteAllTextAsync(output, table);
        }
    }
}
