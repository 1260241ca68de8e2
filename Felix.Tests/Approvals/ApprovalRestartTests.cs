using System.Net;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;

namespace Felix.Tests.Approvals;

/// <summary>
/// A waiting workflow is durable: the server is killed (SIGKILL) while it waits, a new server on the same data takes the
/// decision, and the run completes from its history without running a committed agent again. Deadlines hold too.
/// </summary>
public sealed class ApprovalRestartTests : DataDirectoryTest
{
    [Fact]
    public async Task KilledWhileWaitingTheDecisionAfterTheRestartCompletesTheRun()
    {
        var settings = StorageTestSettings.SqliteFile(Files.Directory, ("Felix:Approvals:DeadlineCheckInterval", "00:00:00.200"))
            .ToDictionary(p => p.Key, p => p.Value!);
        string waiting, expiring;
        string firstApproval;
        await using (var server = await ServerProcess.StartAsync(Files.Directory, settings))
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            waiting = await http.CreateWithApprovalAsync(new { every_agent = true }, maxSteps: 2);
            expiring = await http.CreateWithApprovalAsync(new { before_synthesis = true, timeout_seconds = 4, on_timeout = "approve" }, maxSteps: 1);
            firstApproval = (await http.WaitForPendingApprovalAsync(waiting)).ApprovalId;
            await http.WaitForPendingApprovalAsync(expiring);
            await server.KillAsync();
        }

        await using (var server = await ServerProcess.StartAsync(Files.Directory, settings))
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            Assert.Equal(WorkflowStatuses.AwaitingApproval, (await http.GetWorkflowAsync(waiting)).Status);

            var decided = await http.DecideAsync(waiting, firstApproval, "approve");
            var approvedAfter = await http.ApproveUntilTerminalAsync(waiting);
            var expired = await http.WaitForTerminalAsync(expiring, TimeSpan.FromSeconds(30));

            Assert.Equal(HttpStatusCode.OK, decided.StatusCode);
            Assert.Equal(1, approvedAfter);
            var workflow = await http.GetWorkflowAsync(waiting);
            Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
            var events = await http.ReadEventsAsync(waiting);
            DurableHistoryOfApprovals.AssertNoAgentRanTwice(events);
            Assert.Equal(["research_001", "critic_001"], events.OfType<AgentSpawnedEvent>().Select(e => e.AgentId));
            Assert.Equal(EventTypes.WorkflowComplete, events[^1].Type);
            Assert.Equal(WorkflowStatuses.Completed, expired.Status);
            Assert.Equal("deadline", Assert.Single((await http.ListApprovalsAsync(expiring)).Approvals).DecidedBy);
        }
    }
}
