using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Felix.Contracts;
using Felix.Server.Api;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Felix.Tests.Storage;

/// <summary>
/// A full disk is visible and safe: readiness answers 503, requests that need to write answer 503 <c>Storage
/// unavailable</c> with <c>Retry-After</c>, and both recover by themselves once space returns. The data directory is a
/// real filesystem of 4 MiB (tmpfs), filled up by the test.
/// </summary>
public sealed partial class StorageFaultTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "felix-small-fs-" + Guid.NewGuid().ToString("N"));

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", _directory);
    }

    public async Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await RunAsync("umount", _directory);
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task AFullDiskMakesTheNodeUnreadyAndWritesAnswer503UntilSpaceReturns()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["Felix:Storage:Provider"] = "Sqlite",
            ["Felix:Storage:DataDirectory"] = _directory,
            ["Felix:Storage:Database"] = "felix.db",
            ["Felix:Storage:Synchronous"] = "Normal",
        });
        using var client = app.CreateApiClient();
        var before = await client.CreateWorkflowAsync("Before the disk fills", maxSteps: 1);
        await client.WaitForTerminalAsync(before.WorkflowId);
        var ready = await client.GetAsync("health/ready").DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        // The probes answer anyone: they say what is wrong, not where the files are.
        Assert.DoesNotContain(_directory, await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var filler = Path.Combine(_directory, "filler");
        Fill(filler);

        await Poll.UntilAsync(async () => (await client.GetAsync("health/ready").DefaultTimeout()).StatusCode == HttpStatusCode.ServiceUnavailable,
            "readiness to report the full disk");
        var unready = await (await client.GetAsync("health/ready").DefaultTimeout()).Content.ReadAsStringAsync();
        Assert.Contains("The database cannot be written", unready, StringComparison.Ordinal);
        Assert.DoesNotContain(_directory, unready, StringComparison.Ordinal);
        var refused = await client.PostAsJsonAsync("api/v1/workflows", new { task = "While the disk is full", max_steps = 1 }).DefaultTimeout();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
        Assert.Equal(StorageUnavailableProblem.Title, (await refused.Content.ReadFromJsonAsync<ProblemDetails>())!.Title);

        File.Delete(filler);

        await Poll.UntilAsync(async () => (await client.GetAsync("health/ready").DefaultTimeout()).StatusCode == HttpStatusCode.OK,
            "readiness to come back");
        var after = await client.CreateWorkflowAsync("After space returned", maxSteps: 1);
        Assert.Equal(WorkflowStatuses.Completed, (await client.WaitForTerminalAsync(after.WorkflowId)).Status);
    }

    [Fact]
    public async Task ARunThatCannotWritePausesAndCompletesOnceSpaceReturns()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["Felix:Storage:Provider"] = "Sqlite",
            ["Felix:Storage:DataDirectory"] = _directory,
            ["Felix:Storage:Database"] = "felix.db",
            ["Felix:Storage:Synchronous"] = "Normal",
            ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.020",
        });
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Through a full disk", maxSteps: 3);
        await Poll.UntilAsync(async () => (await client.ReadEventsAsync(workflow.WorkflowId)).Any(e => e is Felix.Contracts.Events.AgentOutputDeltaEvent),
            "the run to stream text");

        var filler = Path.Combine(_directory, "filler");
        Fill(filler);
        await Poll.UntilAsync(async () => (await client.GetAsync("health/ready").DefaultTimeout()).StatusCode == HttpStatusCode.ServiceUnavailable,
            "readiness to report the full disk");
        // Long enough for the run to have hit the full disk: it streams a token every 20 ms.
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(WorkflowStatuses.Running, (await client.GetWorkflowAsync(workflow.WorkflowId)).Status);
        File.Delete(filler);

        var done = await client.WaitForTerminalAsync(workflow.WorkflowId, TimeSpan.FromSeconds(60));
        Assert.Equal(WorkflowStatuses.Completed, done.Status);
        Assert.True(done.Attempts >= 2, $"the run never paused ({done.Attempts} attempt)");
        DurableHistory.AssertOneRun(await client.ReadEventsAsync(workflow.WorkflowId));
    }

    [Fact]
    public async Task AWorkflowTakenWhileTheDiskIsFullWaitsAndRunsOnceSpaceReturns()
    {
        var updates = new HeldWorkflowUpdates();
        var logs = new LogCapture();
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["Felix:Storage:Provider"] = "Sqlite",
            ["Felix:Storage:DataDirectory"] = _directory,
            ["Felix:Storage:Database"] = "felix.db",
            ["Felix:Storage:Synchronous"] = "Normal",
        }).WithServices(services =>
        {
            updates.Install(services);
            services.AddSingleton<ILoggerProvider>(logs);
        });
        using var client = app.CreateApiClient();
        updates.ArmNext();
        var workflow = await client.CreateWorkflowAsync("Taken while the disk is full", maxSteps: 1);

        // The runner's first write (pending to running) is held until the disk is full, so it meets the full disk.
        await updates.Entered.DefaultTimeout();
        var filler = Path.Combine(_directory, "filler");
        Fill(filler);
        updates.Release();
        await Poll.UntilAsync(() => Task.FromResult(logs.Entries.Any(e => e.EventId == 2116 && e.Message.Contains(workflow.WorkflowId, StringComparison.Ordinal))),
            "the run to wait for the disk");
        Assert.Equal(WorkflowStatuses.Pending, (await client.GetWorkflowAsync(workflow.WorkflowId)).Status);
        File.Delete(filler);

        var done = await client.WaitForTerminalAsync(workflow.WorkflowId, TimeSpan.FromSeconds(60));
        Assert.Equal(WorkflowStatuses.Completed, done.Status);
        Assert.Equal(1, done.Attempts);
        DurableHistory.AssertOneRun(await client.ReadEventsAsync(workflow.WorkflowId));
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error && e.Category.StartsWith("Felix.Server.Workflows", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARunThatCannotWriteForLongerThanTheOutageLimitFailsWithTheDocumentedReason()
    {
        var logs = new LogCapture();
        await using var app = LongOutageApp(logs);
        using var client = app.CreateApiClient();

        var done = await RunThroughALongOutageAsync(client, logs, "Through a long outage");
        // The reason as docs/durability.md states it.
        const string Reason = "Storage unavailable: the workflow could not be written for too long.";
        Assert.Equal((WorkflowStatuses.Failed, Reason), (done.Status, done.Error));
        var last = (await client.ReadEventsAsync(done.WorkflowId))[^1];
        Assert.Equal(Reason, Assert.IsType<Felix.Contracts.Events.WorkflowErrorEvent>(last).Error);
    }

    /// <summary>A server whose runs may wait out a storage outage of 2 s, no longer.</summary>
    private FelixApplication LongOutageApp(LogCapture logs) =>
        new FelixApplication(StorageTestSettings.SqliteFile(_directory,
            ("Felix:Llm:OfflineTokenDelay", "00:00:00.020"),
            ("Felix:Workflows:StorageOutageLimit", "00:00:02"))).WithServices(s => s.AddSingleton<ILoggerProvider>(logs));

    /// <summary>
    /// Starts a workflow, fills the disk once it streams, frees it once the runner gave up on the outage, and returns the
    /// workflow as it ended.
    /// </summary>
    private async Task<Felix.Contracts.Dtos.WorkflowResponse> RunThroughALongOutageAsync(HttpClient client, LogCapture logs, string task)
    {
        var workflow = await client.CreateWorkflowAsync(task, maxSteps: 3);
        await Poll.UntilAsync(async () => (await client.ReadEventsAsync(workflow.WorkflowId)).Any(e => e is Felix.Contracts.Events.AgentOutputDeltaEvent),
            "the run to stream text");

        var filler = Path.Combine(_directory, "filler");
        Fill(filler);
        // The runner gives up once the outage passed the limit; it writes the failure when it can.
        await Poll.UntilAsync(() => Task.FromResult(logs.Entries.Any(e => e.EventId == 2112)), "the runner to give up on the outage", TimeSpan.FromSeconds(30));
        File.Delete(filler);
        return await client.WaitForTerminalAsync(workflow.WorkflowId, TimeSpan.FromSeconds(60));
    }

    /// <summary>Writes until the filesystem refuses another byte.</summary>
    [Fact]
    public async Task AServerKilledOnAFullDiskRefusesToStartSayingSoAndResumesTheWorkflowOnceSpaceReturns()
    {
        var settings = StorageTestSettings.SqliteFile(_directory, ("Felix:Llm:OfflineTokenDelay", "00:00:00.020"))
            .ToDictionary(p => p.Key, p => p.Value!);
        var filler = Path.Combine(_directory, "filler");
        string workflowId;
        await using (var server = await ServerProcess.StartAsync(_directory, settings))
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            workflowId = (await http.CreateWorkflowAsync("Killed on a full disk", maxSteps: 2)).WorkflowId;
            await http.WaitForStatusAsync(workflowId, WorkflowStatuses.Running);
            Fill(filler);
            await server.KillAsync();
        }

        // Opening the database after the crash has to write (the write-ahead log's index), and the disk is full.
        var refused = await ServerProcess.RunToExitAsync(_directory, settings);

        Assert.Equal(1, refused.ExitCode);
        var line = Assert.Single(refused.Lines, l => l.Length > 0);
        Assert.Contains("its disk is full", line, StringComparison.Ordinal);
        Assert.Contains("free space on that disk and start again", line, StringComparison.Ordinal);
        // The file is fine: telling the operator to restore it from a backup would throw away what the crash kept.
        Assert.DoesNotContain("Restore it from a backup", line, StringComparison.Ordinal);

        File.Delete(filler);
        await using var again = await ServerProcess.StartAsync(_directory, settings);
        using var client = new HttpClient { BaseAddress = again.BaseAddress };
        Assert.Equal(WorkflowStatuses.Completed, (await client.WaitForTerminalAsync(workflowId, TimeSpan.FromSeconds(60))).Status);
        DurableHistory.AssertOneRun(await client.ReadEventsAsync(workflowId));
    }

    [Fact]
    public async Task ARunPausedByAFullDiskAndThenDrainedDoesNotCountTowardsTheAttemptsLimit()
    {
        // One attempt allowed: the drain counted as an interruption fails the workflow at the next start.
        var settings = StorageTestSettings.SqliteFile(_directory,
            ("Felix:Llm:OfflineTokenDelay", "00:00:00.020"), ("Felix:Workflows:MaxAttempts", "1"),
            ("Felix:Workflows:ShutdownGracePeriod", "00:00:00.100"));
        var filler = Path.Combine(_directory, "filler");
        var updates = new HeldWorkflowUpdates();
        var logs = new LogCapture();
        string workflowId;
        await using (var app = new FelixApplication(settings).WithServices(services =>
        {
            updates.Install(services);
            services.AddSingleton<ILoggerProvider>(logs);
        }))
        {
            using var client = app.CreateApiClient();
            workflowId = (await client.CreateWorkflowAsync("Paused, then drained", maxSteps: 2)).WorkflowId;
            await Poll.UntilAsync(async () => (await client.ReadEventsAsync(workflowId)).Any(e => e is Felix.Contracts.Events.AgentOutputDeltaEvent),
                "the run to stream text");
            Fill(filler);
            await Poll.UntilAsync(() => Task.FromResult(logs.Entries.Any(e => e.EventId == 2111 && e.Message.Contains(workflowId, StringComparison.Ordinal))),
                "the run to pause for the disk");

            // Its next try to resume is held; the drain's grace period runs out meanwhile. The try then meets the full
            // disk, and space returns right after it: the run learns of the drain while it waits to try again.
            updates.ArmNext();
            await updates.Entered.DefaultTimeout();
            var engine = app.Services.GetRequiredService<Felix.Server.Workflows.WorkflowEngine>();
            var drain = engine.StopAsync(CancellationToken.None);
            await Poll.UntilAsync(() => Task.FromResult(engine.IsStopRequested(workflowId)), "the grace period to run out");
            updates.Release(() => File.Delete(filler));
            await drain.DefaultTimeout(TimeSpan.FromMinutes(1));
            Assert.Equal(WorkflowStatuses.Running, (await client.GetWorkflowAsync(workflowId)).Status);
        }

        await using var again = new FelixApplication(settings);
        using var api = again.CreateApiClient();
        var done = await api.WaitForTerminalAsync(workflowId, TimeSpan.FromSeconds(60));

        Assert.Equal((WorkflowStatuses.Completed, null), (done.Status, done.Error));
        DurableHistory.AssertOneRun(await api.ReadEventsAsync(workflowId));
    }

    private static void Fill(string path)
    {
        var chunk = new byte[16 * 1024];
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        try
        {
            while (true)
            {
                file.Write(chunk);
                file.Flush();
            }
        }
        catch (IOException)
        {
            // ENOSPC: the disk is full, which is the point.
        }
    }

    private static async Task RunAsync(string command, params string[] args)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        await process.WaitForExitAsync().DefaultTimeout();
        Assert.True(process.ExitCode == 0, $"{command} failed (the test needs root for a small tmpfs): {await process.StandardError.ReadToEndAsync()}");
    }
}
