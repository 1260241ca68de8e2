using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Felix.Bench.Contracts;
using Felix.Contracts;

namespace Felix.Bench.Load;

/// <summary>
/// Issue #20, speed at the paces users run: the real server (<see cref="BenchSettings.ServerDll"/>, its default SQLite
/// store, the offline model at <see cref="BenchSettings.PacedTokenDelay"/>) running real workflows created over REST,
/// each watched by <see cref="BenchSettings.PacedClients"/> raw (<c>types=all</c>) or MessagePack hub clients; then the
/// bare server (Kestrel for raw, SignalR for MessagePack) replaying what one client of each workflow received: the same
/// frames, to as many clients, at the same offsets. Both are measured from the same start to the last client's terminal
/// event: deliveries, the server process's CPU time per delivery, and publish-to-receipt latency.
/// </summary>
/// <remarks>
/// The clients must be there before a workflow's first event, as the trace's clients are. A workflow starts as soon as
/// it is created and a slot is free, so the engine runs exactly as many workflows at once as the run has, and as many
/// long "blocker" workflows hold every slot while the measured ones are created (pending) and their clients connect;
/// the measured window starts when the blockers are cancelled. Both servers are warmed up first, in unmeasured rounds,
/// until a round compiles next to nothing.
/// </remarks>
internal sealed class PacedScenario(BenchSettings settings)
{
    private const int BlockerSteps = 50;

    /// <summary>A warm-up round that compiled less than this is warm enough to stop warming up.</summary>
    private const double WarmJitSeconds = 0.05;

    private const int MaxExtraWarmUpRounds = 8;

    private readonly StringBuilder _report = new();
    private int _port = settings.Port;

    public async Task<string> RunAsync()
    {
        var results = new List<PacedResult>();
        foreach (var transport in settings.Transports)
        {
            if (transport is not ("raw" or "messagepack"))
            {
                throw new ArgumentException($"The paced runs speak raw or messagepack, not {transport}.");
            }

            var trace = Path.Combine(Path.GetTempPath(), $"felix-paced-{transport}-{Environment.ProcessId}.json");
            for (var i = 1; i <= Math.Max(1, settings.PacedRepeats); i++)
            {
                // Felix first, its trace then replayed by the bare server: each pair minutes apart at most.
                try
                {
                    var felix = await RunFelixAsync(transport, trace);
                    Line(PacedReport.Line(felix, i));
                    var bare = await RunBareAsync(transport, trace);
                    Line(PacedReport.Line(bare, i));
                    results.AddRange([felix, bare]);
                }
                catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or TimeoutException or OperationCanceledException)
                {
                    // One failed pair (a server that did not start, a blocker that ended early) leaves the others' figures.
                    Line($"{transport} pair #{i} failed: {ex.Message}");
                }
            }

            File.Delete(trace);
        }

        Line("");
        Line(PacedReport.Markdown(results));
        return _report.ToString();
    }

    private async Task<PacedResult> RunFelixAsync(string transport, string tracePath)
    {
        var workflows = settings.PacedWorkflows;
        var environment = new Dictionary<string, string>(settings.SharedServerEnvironment())
        {
            ["Felix__Security__AllowAnonymous"] = "true",
            ["Felix__Llm__OfflineTokenDelay"] = settings.PacedTokenDelay,
            // As many runs at once as the run has workflows: the blockers can hold every slot.
            ["Felix__Workflows__MaxConcurrent"] = Invariant(workflows),
            ["Felix__Workflows__QueueCapacity"] = Invariant(10 * workflows + 100),
            // No early synthesis: every workflow runs its max_steps agents, so a blocker outlasts the clients' connecting
            // (one ended after a few agents otherwise) and every repeat has the same shape.
            ["Felix__Workflows__MinAgentsBeforeSynthesis"] = Invariant(BlockerSteps),
            ["Felix__Limits__WorkflowsPerMinute"] = "1000000",
            ["Felix__Limits__ConnectionAttemptsPerMinute"] = "10000000",
            ["Felix__Limits__PrincipalConnectionAttemptsPerMinute"] = "10000000",
            ["Felix__Limits__MaxConnectionsPerPrincipal"] = "1000000",
            ["Felix__Limits__MaxConnections"] = "1000000",
        };
        var contentRoot = Directory.CreateTempSubdirectory("felix-paced-");
        var clients = new List<PacedClient>();
        try
        {
            await using var server = await ServerProcess.StartAsync(
                "felix", settings.ServerDll, _port++, environment, ["--contentRoot", contentRoot.FullName], "/health/ready");

            // Warm-up: rounds of the whole procedure with short workflows (a first request to an endpoint or a first
            // cancel compiles code too), each followed by the tier-1 compilation it set off (a second or two of half a
            // core after a round).
            await WarmUpAsync(server, async round =>
            {
                await DisposeAsync((await RunRoundAsync(server, transport, settings.PacedWarmUpSteps, $"Paced warm-up {round}")).Clients);
                await SettleAsync(server);
            });

            var idle = await IdleCpuPercentAsync(server);
            var measured = await RunRoundAsync(server, transport, settings.PacedMaxSteps, "Paced workflow");
            clients = measured.Clients;

            var recorders = clients.Where((_, i) => i % settings.PacedClients == 0);
            var trace = new PacedTrace(transport, [.. recorders.Select(c => (IReadOnlyList<TracedFrame>)[.. c.Trace])]);
            await trace.WriteAsync(tracePath);
            return Result("felix", transport, clients, trace, measured.Window, measured.CpuSeconds, measured.TimedOut) with
            {
                IdleCpuPercent = idle, BlockerCpuSeconds = measured.BlockerCpuSeconds, SystemCpuSeconds = measured.SystemCpuSeconds,
                JitSeconds = measured.JitSeconds,
            };
        }
        finally
        {
            await DisposeAsync(clients);
            contentRoot.Delete(recursive: true);
        }
    }

    private sealed record Round(List<PacedClient> Clients, PacedWindow Window, double CpuSeconds, double SystemCpuSeconds, double BlockerCpuSeconds, bool TimedOut, double JitSeconds);

    /// <summary>
    /// Blockers take every slot; the workflows are created (pending) and their clients connect; the blockers are
    /// cancelled and the window starts; until every client saw its workflow's end.
    /// </summary>
    private async Task<Round> RunRoundAsync(ServerProcess server, string transport, int maxSteps, string task)
    {
        var blockers = await CreateAsync(server, settings.PacedWorkflows, BlockerSteps, task + " blocker");
        await ExpectStatusAsync(server, blockers, WorkflowStatuses.Running, wait: true);
        var ids = await CreateAsync(server, settings.PacedWorkflows, maxSteps, task);
        var clients = await ConnectAsync(server, transport, ids, records: true);
        await ExpectStatusAsync(server, ids, WorkflowStatuses.Pending, wait: false);

        var jit = await server.JitSecondsAsync();
        var window = BeginWindow(clients);
        var (user, system) = server.CpuTimes();
        await Task.WhenAll(blockers.Select(async id => (await server.Http.DeleteAsync($"/api/v1/workflows/{id}")).EnsureSuccessStatusCode()));
        var blockerCpu = (server.CpuTime() - user - system).TotalSeconds;
        var timedOut = !await WaitAsync(clients);
        var (user1, system1) = server.CpuTimes();
        return new Round(clients, window, (user1 + system1 - user - system).TotalSeconds, (system1 - system).TotalSeconds, blockerCpu, timedOut,
            await server.JitSecondsAsync() - jit);
    }

    private async Task<PacedResult> RunBareAsync(string transport, string tracePath)
    {
        var environment = new Dictionary<string, string>(settings.SharedServerEnvironment())
        {
            ["Bench__Hubs"] = transport == "raw" ? "none" : "signalr",
        };
        var clients = new List<PacedClient>();
        try
        {
            await using var server = await ServerProcess.StartAsync("bare", settings.BaselineDll, _port++, environment);
            var trace = await PacedTrace.ReadAsync(tracePath);
            var ids = await server.CreateWorkflowsAsync(trace.Workflows.Count);
            clients = await ConnectAsync(server, transport, ids, records: false);
            (await server.Http.PostAsJsonAsync("/api/v1/bench/trace", new BenchTraceRequest(Path.GetFullPath(tracePath), ids))).EnsureSuccessStatusCode();

            // Warm-up: rounds of the trace's first seconds, to the same clients.
            await WarmUpAsync(server, async _ =>
            {
                BeginWindow(clients);
                (await server.Http.PostAsync(string.Create(CultureInfo.InvariantCulture, $"/api/v1/bench/replay?seconds={settings.PacedWarmUpSeconds}"), null)).EnsureSuccessStatusCode();
                await SettleAsync(server);
            });

            var idle = await IdleCpuPercentAsync(server);

            var jit = await server.JitSecondsAsync();
            var window = BeginWindow(clients);
            var cpu = server.CpuTime();
            var (_, system) = server.CpuTimes();
            var replay = server.Http.PostAsync("/api/v1/bench/replay", null);
            var timedOut = !await WaitAsync(clients);
            var cpuSeconds = (server.CpuTime() - cpu).TotalSeconds;
            var systemSeconds = (server.CpuTimes().System - system).TotalSeconds;
            (await replay).EnsureSuccessStatusCode();
            var jitSeconds = await server.JitSecondsAsync() - jit;
            return Result("bare", transport, clients, trace, window, cpuSeconds, timedOut) with
            {
                IdleCpuPercent = idle, SystemCpuSeconds = systemSeconds, JitSeconds = jitSeconds,
            };
        }
        finally
        {
            await DisposeAsync(clients);
        }
    }

    /// <summary>
    /// The configured warm-up rounds, then more while a round still compiled code (its JIT time over
    /// <see cref="WarmJitSeconds"/>), at most <see cref="MaxExtraWarmUpRounds"/> more. A quiet CPU after a round is not a
    /// warm process: the runtime compiles a method again (tier 1, and with dynamic PGO an instrumented tier first) only
    /// after it was called some 30 times, so code a short warm-up rarely calls is still compiled in the measured window
    /// (figures in docs/performance.md).
    /// </summary>
    private async Task WarmUpAsync(ServerProcess server, Func<int, Task> round)
    {
        for (var i = 1; i <= settings.PacedWarmUpRounds + MaxExtraWarmUpRounds; i++)
        {
            var jit = await server.JitSecondsAsync();
            await round(i);
            jit = await server.JitSecondsAsync() - jit;
            Line(string.Create(CultureInfo.InvariantCulture, $"{server.Name} warm-up round {i}: JIT {jit:F2} s"));
            if (i >= settings.PacedWarmUpRounds && !(jit > WarmJitSeconds))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Until the server is quiet after a warm-up (two half seconds in a row under 5% of a core: the tier-1 compilation
    /// and the connections' teardown done), at most 20 s.
    /// </summary>
    private static async Task SettleAsync(ServerProcess server)
    {
        var quiet = 0;
        for (var i = 0; i < 40 && quiet < 2; i++)
        {
            var cpu = server.CpuTime();
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            quiet = (server.CpuTime() - cpu).TotalSeconds < 0.025 ? quiet + 1 : 0;
        }
    }

    /// <summary>The server's CPU over a second with nothing to do: timers, keep-alives, background services.</summary>
    private static async Task<double> IdleCpuPercentAsync(ServerProcess server)
    {
        var cpu = server.CpuTime();
        await Task.Delay(TimeSpan.FromSeconds(1));
        return (server.CpuTime() - cpu).TotalSeconds * 100;
    }

    private static async Task<string[]> CreateAsync(ServerProcess server, int count, int maxSteps, string task)
    {
        var ids = new string[count];
        for (var i = 0; i < count; i++)
        {
            using var response = await server.Http.PostAsJsonAsync("/api/v1/workflows",
                new Dictionary<string, object> { ["task"] = $"{task} {i + 1}", ["max_steps"] = maxSteps });
            using var body = JsonDocument.Parse(await response.EnsureSuccessStatusCode().Content.ReadAsStreamAsync());
            ids[i] = body.RootElement.GetProperty("workflow_id").GetString()!;
        }

        return ids;
    }

    /// <summary>Checks (or with <paramref name="wait"/>, waits up to 30 s until) every workflow has <paramref name="status"/>.</summary>
    private static async Task ExpectStatusAsync(ServerProcess server, string[] ids, string status, bool wait)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        foreach (var id in ids)
        {
            while (true)
            {
                using var body = JsonDocument.Parse(await server.Http.GetStringAsync($"/api/v1/workflows/{id}"));
                var actual = body.RootElement.GetProperty("status").GetString();
                if (actual == status)
                {
                    break;
                }

                if (!wait || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"Workflow {id} is {actual}, not {status}: the run's shape needs longer blockers.");
                }

                await Task.Delay(50);
            }
        }
    }

    private async Task<List<PacedClient>> ConnectAsync(ServerProcess server, string transport, string[] ids, bool records)
    {
        var clients = new List<PacedClient>(ids.Length * settings.PacedClients);
        using var gate = new SemaphoreSlim(settings.ConnectConcurrency);
        using var timeout = new CancellationTokenSource(settings.ConnectTimeout);
        var tasks = new List<Task>();
        var uri = new Uri($"http://127.0.0.1:{server.Port}");
        foreach (var id in ids)
        {
            for (var i = 0; i < settings.PacedClients; i++)
            {
                // The first client of each workflow records what it receives: the trace.
                var client = new PacedClient(transport, records && i == 0);
                clients.Add(client);
                await gate.WaitAsync(timeout.Token);
                tasks.Add(Task.Run(async () =>
                {
                    try
                    {
                        await client.ConnectAsync(uri, id, timeout.Token);
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

    private PacedWindow BeginWindow(List<PacedClient> clients)
    {
        var perClient = (long)(settings.PacedMaxSteps + 2) * 100;
        var window = new PacedWindow((int)Math.Min(32_000_000, clients.Count * perClient));
        clients.ForEach(c => c.Begin(window));
        return window;
    }

    /// <summary>Until every client saw its workflow's terminal event; false when the time is up first.</summary>
    private async Task<bool> WaitAsync(List<PacedClient> clients)
    {
        try
        {
            await Task.WhenAll(clients.Select(c => c.Done)).WaitAsync(TimeSpan.FromSeconds(settings.PacedTimeoutSeconds));
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private static async Task DisposeAsync(List<PacedClient> clients)
    {
        foreach (var chunk in clients.Chunk(500))
        {
            await Task.WhenAll(chunk.Select(c => c.DisposeAsync().AsTask())).WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    private PacedResult Result(string server, string transport, List<PacedClient> clients, PacedTrace trace, PacedWindow window, double cpuSeconds, bool timedOut)
    {
        var percentiles = window.Latencies.Percentiles(50, 99, 100);
        // The model's pace: each workflow's events over the time from its first to its last.
        var rates = trace.Workflows.Where(w => w.Count > 1)
            .Select(w => (w.Count - 1) / ((w[^1].OffsetMicros - w[0].OffsetMicros) / 1e6)).ToList();
        return new PacedResult(
            server, transport, trace.Workflows.Count, settings.PacedClients, (long)trace.FrameCount * settings.PacedClients, clients.Sum(c => c.Received),
            clients.Max(c => c.LastReceipt).TotalSeconds, cpuSeconds, percentiles[0], percentiles[1], percentiles[2],
            rates.Count > 0 ? rates.Average() : double.NaN, timedOut, LoadAverage())
        {
            Bytes = clients.Sum(c => c.Bytes),
        };
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private void Line(string text)
    {
        Console.WriteLine(text);
        _report.AppendLine(text);
    }
}
