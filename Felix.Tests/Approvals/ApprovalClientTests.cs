using Felix.Client;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Tests.Client;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Approvals;

/// <summary>The .NET client's approval methods and the <c>felix approve|reject|revise</c> commands, against a real server.</summary>
public sealed class ApprovalClientTests
{
    [Fact]
    public async Task ClientListsAndDecidesAndASecondDecisionThrows409NamingTheWinner()
    {
        await using var app = ClientTestSupport.CreateServer();
        using var client = ClientTestSupport.CreateClient(app);
        var workflow = await client.CreateWorkflowAsync(new WorkflowRequest
        {
            Task = "Explain quantum computing", MaxSteps = 1, Approval = new ApprovalSettings { BeforeSynthesis = true },
        }).DefaultTimeout();
        ApprovalInfo? pending = null;
        await Poll.UntilAsync(async () =>
            (pending = (await client.ListApprovalsAsync(workflow.WorkflowId)).Approvals.FirstOrDefault(a => a.Status == ApprovalInfo.Pending)) is not null,
            "a pending approval");

        var approved = await client.ApproveAsync(workflow.WorkflowId, pending!.ApprovalId, "Fine.").DefaultTimeout();
        var second = await Assert.ThrowsAsync<FelixApiException>(() => client.RejectAsync(workflow.WorkflowId, pending.ApprovalId).DefaultTimeout());

        Assert.Equal(("approve", "Fine."), (approved.Decision, approved.Comment));
        Assert.Equal(System.Net.HttpStatusCode.Conflict, second.StatusCode);
        Assert.Contains("already decided: approve", second.Detail);
        await Poll.UntilAsync(async () => (await client.GetWorkflowAsync(workflow.WorkflowId)).Status == WorkflowStatuses.Completed, "the workflow to complete");
    }

    [Fact]
    public async Task CliRevisesThenApprovesThePendingStepAndRejectWithoutScopeIsRefused()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["FELIX_API_KEY"] = ClientTestSupport.Key,
            ["Felix:Security:ApiKeys:0:Key"] = "reader-key-0001",
        }, kestrel: true);
        using var http = app.CreateApiClient();
        var id = await http.CreateWithApprovalAsync(new { every_agent = true }, maxSteps: 1);
        var first = await http.WaitForPendingApprovalAsync(id);
        var url = app.BaseAddress.ToString();

        var refused = await CliProcess.RunAsync("reader-key-0001", "reject", id, "--url", url);
        var revised = await CliProcess.RunAsync(ClientTestSupport.Key, "revise", id, "--comment", "Name one concrete use.", "--url", url);
        var second = await http.WaitForPendingApprovalAsync(id);
        var approved = await CliProcess.RunAsync(ClientTestSupport.Key, "approve", id, second.ApprovalId, "--url", url);
        var workflow = await http.WaitForTerminalAsync(id);

        Assert.Equal(4, refused.ExitCode);
        Assert.Contains("felix.approve", refused.Stderr);
        Assert.True(revised.ExitCode == 0, revised.ToString());
        Assert.Contains($"Approval {first.ApprovalId} of {id}: revise by", revised.Stdout);
        Assert.True(approved.ExitCode == 0, approved.ToString());
        Assert.Contains($"Approval {second.ApprovalId} of {id}: approve by", approved.Stdout);
        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
    }
}
