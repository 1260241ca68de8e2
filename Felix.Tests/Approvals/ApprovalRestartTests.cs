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

    [Fact]
    public async Task ASynthesisApprovedAfterTheRestartCountsItsUsageAndTheAgents()
    {
        var settings = StorageTestSettings.SqliteFile(Files.Directory).ToDictionary(p => p.Key, p => p.Value!);
        string id, approvalId;
        await using (var server = await ServerProcess.StartAsync(Files.Directory, settings))
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            id = await http.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 2);
            approvalId = (await http.WaitForPendingApprovalAsync(id)).ApprovalId;
            await server.KillAsync();
        }

        await using (var server = await ServerProcess.StartAsync(Files.Directory, settings))
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            Assert.Equal(HttpStatusCode.OK, (await http.DecideAsync(id, approvalId, "approve")).StatusCode);
            var workflow = await http.WaitForTerminalAsync(id, TimeSpan.FromSeconds(30));
            Assert.Equal(WorkflowStatuses.Completed, workflow.Status);

            var events = await http.ReadEventsAsync(id);
            var agents = events.OfType<AgentCompletedEvent>().ToList();
            var complete = Assert.IsType<WorkflowCompleteEvent>(events[^1]);
            var usage = complete.Usage!;
            Assert.Equal(2, agents.Count);
            Assert.True(complete.Synthesis.TokenCount > 0, "the approved synthesis lost its token count");
            // Both agents and the synthesis, each counted as the model reported it: nothing is estimated.
            Assert.Equal(3, usage.LlmCalls);
            Assert.Equal(agents.Sum(a => a.CompletionTokens) + complete.Synthesis.TokenCount, usage.CompletionTokens);
            Assert.True(usage.PromptTokens > agents.Sum(a => a.PromptTokens), "the synthesis' prompt tokens are missing");
            Assert.Equal(usage.PromptTokens + usage.CompletionTokens, usage.TotalTokens);
            Assert.Null(usage.EstimatedTokens);
            var metrics = workflow.PerformanceMetrics!;
            Assert.Equal((usage.LlmCalls, usage.PromptTokens, usage.CompletionTokens), (metrics.LlmCalls, metrics.PromptTokens, metrics.CompletionTokens));
        }
    }
}
