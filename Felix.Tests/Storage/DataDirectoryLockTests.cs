using Felix.Contracts;
using Felix.Server.Storage;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

/// <summary>One process owns a data directory: a second one on the same files refuses to start and changes nothing.</summary>
public sealed class DataDirectoryLockTests : DataDirectoryTest
{
    [Fact]
    public async Task SecondServerOnTheSameDataDirectoryRefusesWithOneLineAndLeavesTheRunningWorkflowAlone()
    {
        // Slow enough that the workflow is still running while the second process tries its start-up recovery.
        var settings = StorageTestSettings.SqliteFile(Files.Directory, ("Felix:Llm:OfflineTokenDelay", "00:00:00.050"))
            .ToDictionary(p => p.Key, p => p.Value!);
        await using var first = await ServerProcess.StartAsync(Files.Directory, settings);
        using var http = new HttpClient { BaseAddress = first.BaseAddress };
        var workflowId = (await http.CreateWorkflowAsync(maxSteps: 3)).WorkflowId;
        await http.WaitForStatusAsync(workflowId, WorkflowStatuses.Running);
        var owner = File.Exists(Files.File + DataDirectoryLock.OwnerSuffix) ? await File.ReadAllTextAsync(Files.File + DataDirectoryLock.OwnerSuffix) : "";

        var second = await ServerProcess.RunToExitAsync(Files.Directory, settings);

        Assert.Equal(1, second.ExitCode);
        var line = Assert.Single(second.Lines, l => l.Length > 0);
        Assert.Contains(Files.File + DataDirectoryLock.LockSuffix, line, StringComparison.Ordinal);
        Assert.Contains($"pid {first.Id} on {Environment.MachineName}", line, StringComparison.Ordinal);
        Assert.Equal("", second.Stderr);
        // The refused process ran no recovery (which would have failed it as interrupted): the workflow runs on and finishes.
        Assert.Equal(WorkflowStatuses.Completed, (await http.WaitForTerminalAsync(workflowId, TimeSpan.FromMinutes(2))).Status);
        Assert.Equal(owner, await File.ReadAllTextAsync(Files.File + DataDirectoryLock.OwnerSuffix));
    }

    [Fact]
    public async Task ASecondServerRefusesEvenWhenTheOwnersLockFileWasRemovedAsStale()
    {
        var settings = StorageTestSettings.SqliteFile(Files.Directory, ("Felix:Llm:OfflineTokenDelay", "00:00:00.050"))
            .ToDictionary(p => p.Key, p => p.Value!);
        await using var first = await ServerProcess.StartAsync(Files.Directory, settings);
        using var http = new HttpClient { BaseAddress = first.BaseAddress };
        var workflowId = (await http.CreateWorkflowAsync(maxSteps: 3)).WorkflowId;
        await http.WaitForStatusAsync(workflowId, WorkflowStatuses.Running);
        // What an operator who takes the lock file for a stale one does (or a cleaner of old files).
        File.Delete(Files.File + DataDirectoryLock.LockSuffix);

        var second = await ServerProcess.RunToExitAsync(Files.Directory, settings);

        Assert.Equal(1, second.ExitCode);
        var line = Assert.Single(second.Lines, l => l.Length > 0);
        Assert.Contains($"{Files.File} is held by another process (pid {first.Id} on {Environment.MachineName}", line, StringComparison.Ordinal);
        Assert.Equal("", second.Stderr);
        // The refused process ran no recovery beside the owner (before, it resumed the running workflow a second time,
        // and the two runs' appends collided): the workflow finishes once, with one history.
        Assert.Equal(WorkflowStatuses.Completed, (await http.WaitForTerminalAsync(workflowId, TimeSpan.FromMinutes(2))).Status);
        DurableHistory.AssertOneRun(await http.ReadEventsAsync(workflowId));
        Assert.Equal(1, (await http.GetWorkflowAsync(workflowId)).Attempts);
    }

    [Fact]
    public async Task TheLockIsFreeAgainOnceItsOwnerIsKilled()
    {
        var settings = StorageTestSettings.SqliteFile(Files.Directory).ToDictionary(p => p.Key, p => p.Value!);
        await using (var first = await ServerProcess.StartAsync(Files.Directory, settings))
        {
            await first.KillAsync();
        }

        await using var second = await ServerProcess.StartAsync(Files.Directory, settings);
        using var http = new HttpClient { BaseAddress = second.BaseAddress };
        Assert.Equal(WorkflowStatuses.Completed, (await http.WaitForTerminalAsync((await http.CreateWorkflowAsync(maxSteps: 1)).WorkflowId)).Status);
    }
}
