using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Felix.Bench.Load;

/// <summary>
/// Reconnect storm (issue #20): the real server with its default settings, a crowd of raw WebSocket clients sharing one
/// key from many loopback addresses, watching workflows that run across a restart. The server is stopped (SIGTERM: the
/// drain, 1001 to every client) and started again on the same data; each client comes back on its own backoff and
/// resumes with <c>last_event_id</c>. Measures how long until every client is back and resumed, what the limits
/// refused, the server's CPU, then lets one abusive client loop from one address while the crowd stays, and checks every
/// client's events against the stored history: no gap, no duplicate.
/// </summary>
internal sealed class StormScenario(BenchSettings settings)
{
    /// <summary>The one key of the whole crowd: as in the original's single-key deployments, one principal.</summary>
    private const string ApiKey = "storm-bench-one-shared-key";

    /// <summary>The abusive client's address, outside the crowd's.</summary>
    private static readonly IPAddress AbuserAddress = new([127, 0, 0, 254]);

    private readonly StringBuilder _report = new();

    public async Task<string> RunAsync()
    {
        if (settings.StormAddresses is < 1 or > 200)
        {
            throw new ArgumentException("--storm-addresses must be 1 to 200 (127.0.0.2 onwards, 127.0.0.254 is the abuser's).");
        }

        var contentRoot = Directory.CreateTempSubdirectory("felix-storm-");
        // Only what a bench must set: the key, a slower model so the workflows outlive the restart. Storage, limits,
        // drain and everything else are the defaults; the data directory is "data" under the content root.
        var environment = new Dictionary<string, string>
        {
            ["FELIX_API_KEY"] = ApiKey,
            ["Felix__Llm__OfflineTokenDelay"] = settings.StormTokenDelay,
        };
        string[] arguments = ["--contentRoot", contentRoot.FullName];
        var run = new StormRun(new Uri($"http://127.0.0.1:{settings.Port}"), ApiKey,
            TimeSpan.FromSeconds(settings.StormBackoffBaseSeconds), TimeSpan.FromSeconds(settings.StormBackoffCapSeconds));
        var sources = Enumerable.Range(0, settings.StormAddresses).Select(i => new StormSource(new IPAddress([127, 0, 0, (byte)(2 + i)]))).ToList();
        using var stop = new CancellationTokenSource();
        ServerProcess? server = null;
        try
        {
            server = await StartAsync(environment, arguments);
            Line($"felix (pid {server.Pid}, port {server.Port}): data in {contentRoot.FullName}/data, OfflineTokenDelay {settings.StormTokenDelay}, otherwise defaults");
            var ids = await CreateWorkflowsAsync(server);
            var clients = Enumerable.Range(0, settings.StormClients)
                .Select(i => new StormClient(ids[i % ids.Length], sources[i / ids.Length % sources.Count], run))
                .ToList();
            var tasks = await ConnectAsync(clients, run, stop.Token);

            await Task.Delay(TimeSpan.FromSeconds(settings.StormHoldSeconds));
            var before = clients.Sum(c => c.Events.Count);
            Line(string.Create(CultureInfo.InvariantCulture, $"watched {settings.StormHoldSeconds:F0} s: {before:N0} events received; restarting ({settings.StormStop})"));

            (server, var startedAt, var readyAt) = await RestartAsync(server, run, environment, arguments);
            run.Phase = StormPhase.Storm;
            var storm = await WaitForCrowdAsync(clients, run, readyAt, server);
            // All the new process's CPU so far: its start, its recovery and the storm.
            var cpu = server.CpuTime().TotalSeconds;
            ReportStorm(clients, run, startedAt, readyAt, storm, cpu, server);

            run.Phase = StormPhase.Abuse;
            var dropsBefore = clients.Sum(c => c.DropsAfterBack);
            var abuse = await AbuseAsync(run, ids[0]);
            var connectedAfter = clients.Count(c => c.Connected);
            Line(string.Create(CultureInfo.InvariantCulture,
                $"abusive client from {AbuserAddress}, tight loop for {abuse.Took.TotalSeconds:F1} s: {abuse.Accepted:N0} upgraded, then {abuse.Refused:N0} answered 429 " +
                $"(first after {abuse.AcceptedBeforeRefusal:N0}; Retry-After {abuse.MinRetryAfter}-{abuse.MaxRetryAfter} s), {abuse.Failed:N0} failed; " +
                $"crowd: {clients.Sum(c => c.DropsAfterBack) - dropsBefore} connections dropped meanwhile, {connectedAfter:N0} of {clients.Count(c => !c.Finished && c.Fatal is null):N0} connected after"));

            await CheckAsync(server, clients, tasks, run, stop);
        }
        finally
        {
            await stop.CancelAsync();
            if (server is not null)
            {
                await server.DisposeAsync();
            }

            sources.ForEach(s => s.Dispose());
            contentRoot.Delete(recursive: true);
        }

        return _report.ToString();
    }

    private async Task<ServerProcess> StartAsync(Dictionary<string, string> environment, string[] arguments)
    {
        var server = await ServerProcess.StartAsync("felix", settings.ServerDll, settings.Port, environment, arguments, "/health/ready");
        server.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        return server;
    }

    private async Task<string[]> CreateWorkflowsAsync(ServerProcess server)
    {
        var ids = new string[settings.StormWorkflows];
        for (var i = 0; i < ids.Length; i++)
        {
            using var response = await server.Http.PostAsJsonAsync("/api/v1/workflows",
                new Dictionary<string, object> { ["task"] = $"Reconnect storm workflow {i + 1}", ["max_steps"] = settings.StormMaxSteps });
            using var body = JsonDocument.Parse(await response.EnsureSuccessStatusCode().Content.ReadAsStreamAsync());
            ids[i] = body.RootElement.GetProperty("workflow_id").GetString()!;
        }

        return ids;
    }

    /// <summary>Starts every client, at most <see cref="BenchSettings.ConnectConcurrency"/> handshakes at a time; returns their loops.</summary>
    private async Task<List<Task>> ConnectAsync(List<StormClient> clients, StormRun run, CancellationToken stop)
    {
        var started = run.Now;
        using var gate = new SemaphoreSlim(settings.ConnectConcurrency);
        using var timeout = new CancellationTokenSource(settings.ConnectTimeout);
        var loops = new List<Task>(clients.Count);
        var firsts = new List<Task>(clients.Count);
        foreach (var client in clients)
        {
            await gate.WaitAsync(timeout.Token);
            loops.Add(Task.Run(() => client.RunAsync(stop), CancellationToken.None));
            firsts.Add(client.FirstConnected.WaitAsync(timeout.Token).ContinueWith(_ => gate.Release(), TaskScheduler.Default));
        }

        await Task.WhenAll(firsts);
        var failed = clients.Count(c => !c.FirstConnected.IsCompletedSuccessfully);
        Line(string.Create(CultureInfo.InvariantCulture,
            $"{clients.Count - failed:N0} clients connected in {(run.Now - started).TotalSeconds:F1} s over {settings.StormWorkflows} workflows and {settings.StormAddresses} addresses ({run.Counts(StormPhase.Connect)})"));
        if (failed > 0)
        {
            throw new InvalidOperationException($"{failed} clients did not connect: {clients.First(c => !c.FirstConnected.IsCompletedSuccessfully).Fatal}");
        }

        return loops;
    }

    /// <summary>Stops the server and starts it again on the same data; returns the new one, when it started and when it answered ready.</summary>
    private async Task<(ServerProcess Server, TimeSpan StartedAt, TimeSpan ReadyAt)> RestartAsync(
        ServerProcess old, StormRun run, Dictionary<string, string> environment, string[] arguments)
    {
        var stopped = run.Now;
        run.Phase = StormPhase.Drain;
        if (settings.StormStop == "kill")
        {
            await old.KillAsync();
        }
        else
        {
            // The drain gives running workflows ShutdownGracePeriod (20 s) and the host 10 s more.
            await old.TerminateAsync(TimeSpan.FromSeconds(60));
        }

        var exited = run.Now;
        run.Phase = StormPhase.Down;
        run.OldServerGone = true;
        var code = old.ExitCode;
        await old.DisposeAsync();
        var startedAt = run.Now;
        var server = await StartAsync(environment, arguments);
        var readyAt = run.Now;
        Line(string.Create(CultureInfo.InvariantCulture,
            $"old process exited {(exited - stopped).TotalSeconds:F1} s after the signal (exit code {code}); new process (pid {server.Pid}) started, " +
            $"answered ready {(readyAt - startedAt).TotalSeconds:F1} s after its start"));
        Line($"  before the old process exited: {run.Counts(StormPhase.Drain)}");
        Line($"  until the new one answered ready: {run.Counts(StormPhase.Down)}");
        return (server, startedAt, readyAt);
    }

    private sealed record StormWait(TimeSpan? AllBack, TimeSpan? AllResumed, int Waiting);

    /// <summary>Until every client still watching is back on the new process and resumed, or the storm's time is up.</summary>
    private async Task<StormWait> WaitForCrowdAsync(List<StormClient> clients, StormRun run, TimeSpan readyAt, ServerProcess server)
    {
        TimeSpan? allBack = null;
        var nextProgress = readyAt + TimeSpan.FromSeconds(5);
        var lastCpu = server.CpuTime();
        while (true)
        {
            var watching = clients.Where(c => !c.Finished && c.Fatal is null).ToList();
            var back = watching.Count(c => c.BackAt is not null);
            var resumed = watching.Count(c => c.ResumedAt is not null);
            if (back == watching.Count)
            {
                allBack ??= watching.Max(c => c.BackAt!.Value);
            }

            if (resumed == watching.Count)
            {
                return new StormWait(allBack, watching.Count == 0 ? readyAt : watching.Max(c => c.ResumedAt!.Value), 0);
            }

            if (run.Now - readyAt > TimeSpan.FromSeconds(settings.StormTimeoutSeconds))
            {
                return new StormWait(allBack, null, watching.Count - resumed);
            }

            if (run.Now >= nextProgress)
            {
                var cpu = server.CpuTime();
                Line(string.Create(CultureInfo.InvariantCulture,
                    $"  +{(run.Now - readyAt).TotalSeconds:F0} s: {back:N0} back, {resumed:N0} resumed of {watching.Count:N0}; server CPU {(cpu - lastCpu).TotalSeconds / 5 * 100:F0}% of a core over the last 5 s; {run.Counts(StormPhase.Storm)}"));
                lastCpu = cpu;
                nextProgress += TimeSpan.FromSeconds(5);
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// The storm's times from both ends: the new process's start (what a client waits for, whatever the server is doing)
    /// and its first ready answer (the target's reference). Clients may be back before the ready answer: the process
    /// takes connections as soon as it listens, and the probe queues behind the crowd's handshakes.
    /// </summary>
    private void ReportStorm(List<StormClient> clients, StormRun run, TimeSpan startedAt, TimeSpan readyAt, StormWait storm, double cpuSeconds, ServerProcess server)
    {
        var watching = clients.Where(c => !c.Finished && c.Fatal is null).ToList();
        var resumed = watching.Where(c => c.ResumedAt is not null).Select(c => c.ResumedAt!.Value).ToList();
        var fromStart = resumed.Select(t => (t - startedAt).TotalMilliseconds).Order().ToList();
        var fromReady = resumed.Select(t => Math.Max(0, (t - readyAt).TotalMilliseconds)).Order().ToList();
        var connected = watching.Where(c => c.BackAt is not null).Select(c => (c.BackAt!.Value - startedAt).TotalMilliseconds).Order().ToList();
        var end = storm.AllResumed ?? run.Now;
        var target = settings.StormTargetSeconds;
        var when = storm.AllResumed is null
            ? string.Create(CultureInfo.InvariantCulture, $"not all after {settings.StormTimeoutSeconds:F0} s ({storm.Waiting:N0} still waiting)")
            : string.Create(CultureInfo.InvariantCulture, $"{(end - startedAt).TotalSeconds:F2} s after the new process started, {(end - readyAt).TotalSeconds:F2} s after it answered ready");
        var allBack = storm.AllBack is { } back ? (back - startedAt).TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) : "-";
        var verdict = storm.AllResumed is not null && (end - readyAt).TotalSeconds <= target ? "within" : "NOT within";
        Line(string.Create(CultureInfo.InvariantCulture,
            $"storm: {resumed.Count:N0} of {watching.Count:N0} back and resumed: {when} (all connected {allBack} s after the start); " +
            $"{verdict} the {target:F0} s target; {clients.Count(c => c.Finished)} clients' workflows finished"));
        Line(string.Create(CultureInfo.InvariantCulture,
            $"  resumed, from the start: p50 {Percentile(fromStart, 50):F0} ms, p99 {Percentile(fromStart, 99):F0} ms, max {Percentile(fromStart, 100):F0} ms; " +
            $"from ready: p50 {Percentile(fromReady, 50):F0} ms, p99 {Percentile(fromReady, 99):F0} ms, max {Percentile(fromReady, 100):F0} ms " +
            $"({resumed.Count(t => t < readyAt):N0} before ready, counted as 0); connected, from the start: p50 {Percentile(connected, 50):F0} ms, max {Percentile(connected, 100):F0} ms"));
        Line($"  after ready: {run.Counts(StormPhase.Storm)}");
        Line(string.Create(CultureInfo.InvariantCulture,
            $"  new server's CPU from its start to the last resume: {cpuSeconds:F2} s in {(end - startedAt).TotalSeconds:F2} s " +
            $"({cpuSeconds / Math.Max(0.001, (end - startedAt).TotalSeconds) * 100:F0}% of one core), RSS {server.Rss() / 1048576.0:F0} MiB; load average {LoadAverage()}"));
    }

    private sealed record AbuseResult(int Accepted, int Refused, int Failed, int AcceptedBeforeRefusal, int MinRetryAfter, int MaxRetryAfter, TimeSpan Took);

    /// <summary>
    /// One client from one address reconnecting as fast as it can, ignoring <c>Retry-After</c>, for
    /// <see cref="BenchSettings.StormAbuseSeconds"/> and at least until it is refused: each connection waits for its
    /// first frame (the server did the work of a connection) and is dropped.
    /// </summary>
    private async Task<AbuseResult> AbuseAsync(StormRun run, string workflowId)
    {
        using var source = new StormSource(AbuserAddress);
        var uri = new UriBuilder(run.Server) { Scheme = "ws", Path = $"/api/v1/ws/workflows/{workflowId}", Query = $"api_key={Uri.EscapeDataString(ApiKey)}" }.Uri;
        int accepted = 0, refused = 0, failed = 0, minRetryAfter = int.MaxValue, maxRetryAfter = 0;
        int? beforeRefusal = null;
        var start = run.Now;
        var end = start + TimeSpan.FromSeconds(settings.StormAbuseSeconds);
        var buffer = new byte[4096];
        // On a loaded machine the loop can be slower than the limit's refill: it goes on until it is refused, up to a minute.
        while (run.Now < end || (refused == 0 && run.Now < start + TimeSpan.FromMinutes(1)))
        {
            using var socket = StormSource.NewSocket();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await socket.ConnectAsync(uri, source.Invoker, timeout.Token);
                await socket.ReceiveAsync(buffer.AsMemory(), timeout.Token);
                accepted++;
                socket.Abort();
            }
            catch (WebSocketException) when (socket.HttpStatusCode == HttpStatusCode.TooManyRequests)
            {
                refused++;
                beforeRefusal ??= accepted;
                var retryAfter = (int)StormSource.RetryAfter(socket).TotalSeconds;
                minRetryAfter = Math.Min(minRetryAfter, retryAfter);
                maxRetryAfter = Math.Max(maxRetryAfter, retryAfter);
            }
            catch (Exception ex) when (ex is WebSocketException or HttpRequestException or OperationCanceledException)
            {
                failed++;
            }
        }

        return new AbuseResult(accepted, refused, failed, beforeRefusal ?? accepted, refused > 0 ? minRetryAfter : 0, maxRetryAfter, run.Now - start);
    }

    /// <summary>
    /// Notes each workflow's stored end, lets the clients read on for 3 s, stops them, and holds every client's events
    /// against the stored history: exactly the history from its start up to the client's last event, and at least up to
    /// the end noted 3 s before.
    /// </summary>
    private async Task CheckAsync(ServerProcess server, List<StormClient> clients, List<Task> loops, StormRun run, CancellationTokenSource stop)
    {
        var ids = clients.Select(c => c.WorkflowId).Distinct().ToList();
        var histories = new Dictionary<string, List<StoredEvent>>();
        foreach (var id in ids)
        {
            histories[id] = await StoredHistory.ReadAsync(server.Http, id);
        }

        var mustReach = histories.ToDictionary(h => h.Key, h => h.Value.Count > 0 ? h.Value[^1].Sequence : 0);
        await Task.Delay(TimeSpan.FromSeconds(3));
        run.Phase = StormPhase.Done;
        await stop.CancelAsync();
        await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(60));
        foreach (var id in ids)
        {
            histories[id].AddRange(await StoredHistory.ReadAsync(server.Http, id, mustReach[id]));
        }

        var stored = histories.ToDictionary(h => h.Key, h => new StoredHistory(h.Value));
        var verdicts = clients.Select(c => StormVerdict.Of(c.Events, c.Epoch, stored[c.WorkflowId], mustReach[c.WorkflowId])).ToList();
        var exact = verdicts.Count(v => v.Exact);
        Line(string.Create(CultureInfo.InvariantCulture,
            $"check against the stored history ({stored.Values.Sum(h => h.Last):N0} events in {stored.Count} workflows, {stored.Values.Sum(h => h.Holes)} holes in it): " +
            $"{exact:N0} of {clients.Count:N0} clients exact, {verdicts.Sum(v => v.Checked):N0} events checked; " +
            $"{verdicts.Count(v => v.Missing > 0)} clients with gaps ({verdicts.Sum(v => v.Missing)} events missing), " +
            $"{verdicts.Count(v => v.Duplicates > 0)} with duplicates ({verdicts.Sum(v => v.Duplicates)}), {verdicts.Sum(v => v.Mismatches)} events unlike the stored ones, " +
            $"{verdicts.Count(v => v.Behind)} behind the stored end of 3 s before; {clients.Sum(c => c.BadEventIds)} bad event ids, " +
            $"{clients.Sum(c => c.ReplayedFromStart)} resumes replayed from the start"));
        var workflows = stored.Values.ToList();
        Line(string.Create(CultureInfo.InvariantCulture,
            $"  per workflow at the end: {workflows.Count(h => h.Last > 0)} with events, up to {workflows.Max(h => h.Last):N0}; " +
            $"{clients.Count(c => c.Events.Count > 0):N0} clients had received events"));
    }

    private static double Percentile(List<double> sorted, double percent) =>
        sorted.Count == 0 ? double.NaN : sorted[(int)Math.Ceiling(percent / 100 * sorted.Count) - (percent > 0 ? 1 : 0)];

    private static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private void Line(string text)
    {
        Console.WriteLine(text);
        _report.AppendLine(text);
    }
}
