using System.Net;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;

namespace Felix.Tests.Approvals;

/// <summary>
/// A decision taken while the node drains (its engine takes no more work, its API still answers) is recorded and
/// waits for the next start: the run that takes it there is the workflow's next attempt, as it would be on a node that
/// was not stopping, and it is not an interrupted one (it does not count towards <c>MaxAttempts</c>).
/// </summary>
public sealed class ApprovalDrainTests
{
    [Fact]
    public async Task ADecisionTakenWhileTheNodeDrainsResumesAtTheNextStartWithoutCountingAsAnInterruption()
    {
        await using var files = new SqliteTestDatabase();
        // One attempt allowed: a run counted as interrupted would fail the workflow instead of resuming it.
        var settings = StorageTestSettings.SqliteFile(files.Directory, ("Felix:Workflows:MaxAttempts", "1"));
        string id;
        await using (var first = new FelixApplication(new Dictionary<string, string?>(settings)))
        {
            using var client = first.CreateApiClient();
            id = await client.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
            var pending = await client.WaitForPendingApprovalAsync(id);
            await first.StopEngineAsync();

            var decided = await client.DecideAsync(id, pending.ApprovalId, "approve");

            Assert.Equal(HttpStatusCode.OK, decided.StatusCode);
            // Recorded, and left for the next start: no run took it here.
            var recorded = await client.GetWorkflowAsync(id);
            Assert.Equal((WorkflowStatuses.Running, 1), (recorded.Status, recorded.Attempts));
        }

        await using var second = new FelixApplication(new Dictionary<string, string?>(settings));
        using var again = second.CreateApiClient();
        var workflow = await again.WaitForTerminalAsync(id, TimeSpan.FromSeconds(60));

        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        // The run that parked, and the one that went on with the decision after the restart.
        Assert.Equal(2, workflow.Attempts);
        var events = await again.ReadEventsAsync(id);
        DurableHistoryOfApprovals.AssertNoAgentRanTwice(events);
        Assert.Equal(ApprovalDecisions.Approve, Assert.Single(events.OfType<ApprovalResolvedEvent>()).Decision);
        Assert.IsType<WorkflowCompleteEvent>(events[^1]);
    }
}
