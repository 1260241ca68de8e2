using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

/// <summary>A drain ends with a line of its own, so a log read at 3 am tells a finished drain from a killed one.</summary>
public sealed class DrainLogTests : DataDirectoryTest
{
    [Fact]
    public async Task SigtermEndsTheLogWithTheDrainsOutcome()
    {
        var settings = StorageTestSettings.SqliteFile(Files.Directory,
            ("Felix:Llm:OfflineTokenDelay", "00:00:00.020"), ("Logging:LogLevel:Felix.Server.Workflows", "Information"))
            .ToDictionary(p => p.Key, p => p.Value!);
        await using var server = await ServerProcess.StartAsync(Files.Directory, settings);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var workflow = await http.CreateWorkflowAsync("Drain me", maxSteps: 1);
        await Poll.UntilAsync(() => Task.FromResult(server.Output.Any(line => line.Contains($"Workflow {workflow.WorkflowId} started", StringComparison.Ordinal))),
            "the workflow to start");

        await server.TerminateAsync();

        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var stopping = server.Output.ToList().FindIndex(line => line.Contains("[6401]", StringComparison.Ordinal));
        var drained = server.Output.ToList().FindIndex(line => line.Contains("[9700] Workflow engine stopped:", StringComparison.Ordinal));
        Assert.True(stopping >= 0, "the drain's first line");
        Assert.True(drained > stopping, string.Join('\n', server.Output));
    }
}
