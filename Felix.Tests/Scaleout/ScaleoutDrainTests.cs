using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;

namespace Felix.Tests.Scaleout;

/// <summary>
/// A node that drains (SIGTERM) hands the workflows it interrupted back to the shared queue as it stops, so another node
/// resumes them at once, not only once the drained node's lease has expired. Real server processes and redis-server.
/// </summary>
public sealed class ScaleoutDrainTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("felix-drain-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task AWorkflowInterruptedByADrainIsResumedByAnotherNodeWellWithinTheDrainedNodesLease()
    {
        var prefix = RedisTestConnections.NewPrefix();
        await using var a = await ServerProcess.StartAsync(_directory, NodeSettings(prefix, "a"));
        using var apiA = new HttpClient { BaseAddress = a.BaseAddress };
        var workflowId = (await apiA.CreateWorkflowAsync("Interrupted by a drain", maxSteps: 5)).WorkflowId;
        await apiA.WaitForStatusAsync(workflowId, WorkflowStatuses.Running);
        await using var b = await ServerProcess.StartAsync(_directory, NodeSettings(prefix, "b"));
        using var apiB = new HttpClient { BaseAddress = b.BaseAddress };

        // A drains with a one-second grace period, interrupts the run and exits; its lease still has most of a minute.
        await a.TerminateAsync();
        Assert.Equal(0, await a.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(a.Output, line => line.Contains($"Workflow {workflowId} interrupted by the shutdown", StringComparison.Ordinal));

        WorkflowResponse? seen = null;
        await Poll.UntilAsync(
            async () => (seen = await apiB.GetWorkflowAsync(workflowId)).Attempts >= 2,
            () => $"node b to resume {workflowId} (last seen {seen?.Status}, attempt {seen?.Attempts}); node a's last lines:\n" + string.Join("\n", a.Output.TakeLast(20)),
            TimeSpan.FromSeconds(30));
        var workflow = await apiB.WaitForTerminalAsync(workflowId, TimeSpan.FromSeconds(60));
        Assert.Equal((WorkflowStatuses.Completed, 2), (workflow.Status, workflow.Attempts));
        DurableHistory.AssertOneRun(await apiB.ReadEventsAsync(workflowId));
    }

    private Dictionary<string, string> NodeSettings(string prefix, string name) => ScaleoutNodeSettings.For(redis, prefix, name,
        // Far longer than the test waits: only a hand-back at the drain gets the workflow resumed in time.
        ("Felix:Redis:NodeLease", "00:01:30"),
        ("Felix:Llm:OfflineTokenDelay", "00:00:00.050"),
        ("Felix:Workflows:ShutdownGracePeriod", "00:00:01"));
}
