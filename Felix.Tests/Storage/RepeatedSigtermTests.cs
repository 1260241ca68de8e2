using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

/// <summary>
/// A graceful shutdown is not a crash: a workflow whose run each drain interrupts (its grace period over) resumes at
/// every next start and completes, however many restarts it spans. <c>MaxAttempts</c> is for runs that keep killing
/// the node, and a drain interruption does not count towards it.
/// </summary>
public sealed class RepeatedSigtermTests : DataDirectoryTest
{
    [Fact]
    public async Task AWorkflowInterruptedByTwoDrainsCompletesWithOneAttemptAllowed()
    {
        // One attempt allowed: a drain counted as an interruption fails the workflow at the first restart.
        var settings = StorageTestSettings.SqliteFile(Files.Directory,
            ("Felix:Llm:OfflineTokenDelay", "00:00:00.050"), ("Felix:Workflows:ShutdownGracePeriod", "00:00:01"),
            ("Felix:Workflows:MaxAttempts", "1"))
            .ToDictionary(p => p.Key, p => p.Value!);
        string? workflowId = null;
        for (var drain = 1; drain <= 2; drain++)
        {
            await using var server = await ServerProcess.StartAsync(Files.Directory, settings);
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            workflowId ??= (await http.CreateWorkflowAsync("Outlive two rolling restarts", maxSteps: 3)).WorkflowId;
            // This start's run is under way (it streamed past what the last one wrote) when the drain begins.
            var before = (await http.ReadEventsAsync(workflowId)).Count;
            await Poll.UntilAsync(async () =>
            {
                var current = await http.GetWorkflowAsync(workflowId);
                Assert.False(WorkflowStatuses.IsTerminal(current.Status), $"Start {drain} ended the workflow {current.Status}: {current.Error}");
                return (await http.ReadEventsAsync(workflowId)).Count >= before + 5;
            }, $"start {drain}: the run to stream", TimeSpan.FromSeconds(60));

            await server.TerminateAsync();

            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains(server.Output, line => line.Contains("[2109]", StringComparison.Ordinal));
        }

        await using var app = new FelixApplication(settings!);
        var client = app.CreateApiClient();
        var workflow = await client.WaitForTerminalAsync(workflowId!, TimeSpan.FromSeconds(90));

        Assert.Equal((WorkflowStatuses.Completed, 3, null), (workflow.Status, workflow.Attempts, workflow.Error));
        var stored = await client.ReadEventsAsync(workflowId!);
        DurableHistory.AssertOneRun(stored);
        // Each start's run announced itself: the first, and the resume after each drain.
        Assert.Equal(3, stored.OfType<WorkflowStatusEvent>().Count(e => e.Status == WorkflowStatuses.Running));
    }
}
