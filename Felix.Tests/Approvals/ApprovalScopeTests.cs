using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Tests.Infrastructure;
using Felix.Tests.Security;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Felix.Tests.Approvals;

/// <summary>Who may decide: the felix.approve scope (or felix.admin), within the tenant, on keys and JWTs alike.</summary>
public sealed class ApprovalScopeTests
{
    private const string ApproverKeyA = "key-tenant-a-approver-0004";

    private static FelixApplication CreateApp() => TenantApplication.Create(new Dictionary<string, string?>
    {
        ["Felix:Security:ApiKeys:3:Key"] = ApproverKeyA,
        ["Felix:Security:ApiKeys:3:Tenant"] = "tenant-a",
        ["Felix:Security:ApiKeys:3:Name"] = "approver",
        ["Felix:Security:ApiKeys:3:Scopes:0"] = "felix.approve",
    });

    internal static string Token(string tenant, string? scope, string subject = "alice") =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "felix-tests",
            Audience = "felix",
            Claims = scope is null
                ? new Dictionary<string, object> { ["sub"] = subject, ["tenant"] = tenant }
                : new Dictionary<string, object> { ["sub"] = subject, ["tenant"] = tenant, ["scope"] = scope },
            Expires = DateTime.UtcNow.AddHours(1),
            SigningCredentials = new SigningCredentials(
                new SymmetricSecurityKey(Encoding.UTF8.GetBytes(TenantApplication.JwtSigningKey)), SecurityAlgorithms.HmacSha256),
        });

    [Fact]
    public async Task ReaderWithoutTheScopeSeesRequestsButGets403AndAnotherTenantGets404()
    {
        await using var app = CreateApp();
        using var reader = app.CreateApiClient(TenantApplication.KeyA);
        using var approver = app.CreateApiClient(ApproverKeyA);
        using var otherTenant = app.CreateApiClient(TenantApplication.KeyB);
        using var otherApprover = app.CreateApiClient(Token("tenant-b", "felix.approve"));
        var id = await reader.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await reader.WaitForPendingApprovalAsync(id);

        var forbidden = await reader.DecideAsync(id, pending.ApprovalId, "approve");
        var hidden = await otherApprover.DecideAsync(id, pending.ApprovalId, "approve");
        var hiddenList = await otherTenant.GetAsync($"api/v1/workflows/{id}/approvals").DefaultTimeout();
        var allowed = await approver.DecideAsync(id, pending.ApprovalId, "approve");

        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        var problem = JsonNode.Parse(await forbidden.Content.ReadAsStringAsync())!;
        Assert.Equal("Forbidden", problem["title"]!.GetValue<string>());
        Assert.Contains("felix.approve", problem["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, hiddenList.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(WorkflowStatuses.Completed, (await reader.WaitForTerminalAsync(id)).Status);
        var decided = Assert.Single((await reader.ListApprovalsAsync(id)).Approvals);
        Assert.Equal("api-key:tenant-a:approver", decided.DecidedBy);
    }

    [Fact]
    public async Task JwtScopeDecidesAndRecordsItsSubjectWhileATokenWithoutItIsRefused()
    {
        await using var app = CreateApp();
        using var owner = app.CreateApiClient(TenantApplication.KeyA);
        using var withScope = app.CreateApiClient(Token("tenant-a", "felix.read felix.approve"));
        using var withoutScope = app.CreateApiClient(Token("tenant-a", "felix.read"));
        using var otherTenant = app.CreateApiClient(Token("tenant-b", "felix.approve"));
        var id = await owner.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await owner.WaitForPendingApprovalAsync(id);

        var refused = await withoutScope.DecideAsync(id, pending.ApprovalId, "reject");
        var hidden = await otherTenant.DecideAsync(id, pending.ApprovalId, "reject");
        var decided = await withScope.DecideAsync(id, pending.ApprovalId, "reject", "Not this week.");

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal(HttpStatusCode.OK, decided.StatusCode);
        var workflow = await owner.WaitForTerminalAsync(id);
        Assert.Equal(WorkflowStatuses.Cancelled, workflow.Status);
        Assert.Contains("alice", workflow.Error);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task HubRefusesADecisionWithoutTheScopeAndAnotherTenantsWorkflow(string protocol)
    {
        await using var app = CreateApp();
        using var owner = app.CreateApiClient(TenantApplication.KeyA);
        await using var reader = app.CreateHubConnection(protocol, key: TenantApplication.KeyA);
        await using var otherTenant = app.CreateHubConnection(protocol, key: Token("tenant-b", "felix.approve"));
        await using var approver = app.CreateHubConnection(protocol, key: ApproverKeyA);
        await Task.WhenAll(reader.StartAsync(), otherTenant.StartAsync(), approver.StartAsync()).DefaultTimeout();
        var id = await owner.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await owner.WaitForPendingApprovalAsync(id);
        var approve = new ApprovalDecision { Decision = "approve" };

        var forbidden = await Assert.ThrowsAsync<HubException>(() =>
            reader.InvokeAsync<ApprovalInfo>(nameof(IWorkflowHub.DecideApproval), id, pending.ApprovalId, approve).DefaultTimeout());
        var hidden = await Assert.ThrowsAsync<HubException>(() =>
            otherTenant.InvokeAsync<ApprovalInfo>(nameof(IWorkflowHub.DecideApproval), id, pending.ApprovalId, approve).DefaultTimeout());
        var decided = await approver.InvokeAsync<ApprovalInfo>(nameof(IWorkflowHub.DecideApproval), id, pending.ApprovalId, approve).DefaultTimeout();

        Assert.Contains("felix.approve", forbidden.Message);
        Assert.Contains("not found", hidden.Message);
        Assert.Equal(("approve", "api-key:tenant-a:approver"), (decided.Decision, decided.DecidedBy));
        Assert.Equal(WorkflowStatuses.Completed, (await owner.WaitForTerminalAsync(id)).Status);
    }

    /// <summary>
    /// Cancel is not a decision: any caller of the tenant may cancel its workflow, waiting or not, and a request that
    /// waits is then withdrawn under the canceller's name (docs/security.md). Another tenant still cannot reach it.
    /// </summary>
    [Fact]
    public async Task ACallerWithoutTheScopeCancelsAWaitingWorkflowAndItsRequestIsWithdrawnUnderItsName()
    {
        await using var app = CreateApp();
        using var submitter = app.CreateApiClient(Token("tenant-a", "felix.read", subject: "bob"));
        using var otherTenant = app.CreateApiClient(Token("tenant-b", "felix.approve"));
        using var approver = app.CreateApiClient(ApproverKeyA);
        var id = await submitter.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await submitter.WaitForPendingApprovalAsync(id);

        var refused = await submitter.DecideAsync(id, pending.ApprovalId, "reject");
        var hidden = await otherTenant.DeleteAsync($"api/v1/workflows/{id}").DefaultTimeout();
        var cancelled = await submitter.DeleteAsync($"api/v1/workflows/{id}").DefaultTimeout();
        var late = await approver.DecideAsync(id, pending.ApprovalId, "approve");

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, cancelled.StatusCode);
        Assert.Equal(WorkflowStatuses.Cancelled, (await submitter.WaitForTerminalAsync(id)).Status);
        var withdrawn = Assert.Single((await submitter.ListApprovalsAsync(id)).Approvals);
        Assert.Equal((ApprovalInfo.Resolved, ApprovalDecisions.Withdrawn, "bob"), (withdrawn.Status, withdrawn.Decision, withdrawn.DecidedBy));
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Equal("withdrawn", JsonNode.Parse(await late.Content.ReadAsStringAsync())!["decision"]!.GetValue<string>());
    }
}
