using System.Net;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Tests.Approvals;
using Felix.Tests.Infrastructure;
using Felix.Tests.Security;

namespace Felix.Tests.AgUi;

/// <summary>
/// Approvals over <c>POST /api/v1/agui</c>: a run ends with the approval as an interrupt, however often the client comes
/// back, and a run's <c>resume</c> entries decide it with the REST route's rules, refused with a problem before any stream.
/// </summary>
public sealed partial class AgUiInterruptTests
{
    private const string Task = "Explain quantum computing";
    private const string ApproverKeyA = "key-tenant-a-approver-0004";
    private static readonly object BeforeSynthesis = new { max_steps = 1, approval = new { before_synthesis = true } };

    private static FelixApplication CreateApp() => TenantApplication.Create(new Dictionary<string, string?>
    {
        ["Felix:Security:ApiKeys:3:Key"] = ApproverKeyA,
        ["Felix:Security:ApiKeys:3:Tenant"] = "tenant-a",
        ["Felix:Security:ApiKeys:3:Scopes:0"] = "felix.approve",
    }, kestrel: true);

    [Fact]
    public async Task AReattachWhileTheApprovalWaitsEndsWithTheSameInterruptAgain()
    {
        await using var app = CreateApp();
        using var approver = app.CreateApiClient(ApproverKeyA);

        var first = await (await approver.PostRunAsync("thread-reattach", "run-1", Task, BeforeSynthesis)).ReadAllEventsAsync();
        var again = await (await approver.PostRunAsync("thread-reattach", "run-2", Task)).ReadAllEventsAsync();
        var after = await (await approver.PostRunAsync("thread-reattach", "run-3", Task, lastEventId: first.Last(f => f.Id is not null).Id)).ReadAllEventsAsync();

        var interrupt = Interrupt(first);
        Assert.Equal($"{first.WorkflowOf()}.apr_synthesis_1", interrupt["id"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(interrupt, Interrupt(again)), "the reattached run ends with the same interrupt");
        Assert.True(JsonNode.DeepEquals(interrupt, Interrupt(after)), "the run after Last-Event-ID ends with the same interrupt");
        Assert.Equal(["RUN_STARTED", "STATE_SNAPSHOT", "RUN_FINISHED"], after.Select(f => AgUiProtocolRules.Type(f.Event)));
        foreach (var run in new[] { first, again, after })
        {
            AgUiProtocolRules.AssertValidRun(run.Select(f => f.Event).ToList());
        }

        Assert.Equal(WorkflowStatuses.AwaitingApproval, (await approver.GetWorkflowAsync(first.WorkflowOf())).Status);
    }

    [Fact]
    public async Task AResumeWithoutTheApproveScopeIsRefusedWith403AndFromAnotherTenantWith404()
    {
        await using var app = CreateApp();
        using var approver = app.CreateApiClient(ApproverKeyA);
        using var reader = app.CreateApiClient(TenantApplication.KeyA);
        using var otherTenant = app.CreateApiClient(ApprovalScopeTests.Token("tenant-b", "felix.approve"));
        var first = await (await approver.PostRunAsync("thread-scope", "run-1", Task, BeforeSynthesis)).ReadAllEventsAsync();
        object[] approve = [new { interruptId = Interrupt(first)["id"]!.GetValue<string>(), status = "resolved", payload = new { decision = "approve" } }];

        using var forbidden = await reader.PostRunAsync("thread-scope", "run-2", Task, resume: approve);
        using var hidden = await otherTenant.PostRunAsync("thread-scope", "run-2", Task, resume: approve);

        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal("application/problem+json", forbidden.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await forbidden.Content.ReadAsStringAsync())!;
        Assert.Equal(("Forbidden", "Deciding approvals needs the felix.approve scope."), (problem["title"]!.GetValue<string>(), problem["detail"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal("Workflow not found", JsonNode.Parse(await hidden.Content.ReadAsStringAsync())!["title"]!.GetValue<string>());
        var approval = Assert.Single((await approver.ListApprovalsAsync(first.WorkflowOf())).Approvals);
        Assert.Equal(ApprovalInfo.Pending, approval.Status);
    }

    [Fact]
    public async Task ADismissalWithoutTheApproveScopeIsRefusedWith403WhileTheInterruptIsOpenAndLetThroughOnceItIsDecided()
    {
        // A dismissal of an open interrupt rejects it: an approver's verdict, so the scope; of a decided one it decides nothing.
        await using var app = CreateApp();
        using var approver = app.CreateApiClient(ApproverKeyA);
        using var reader = app.CreateApiClient(TenantApplication.KeyA);
        var first = await (await reader.PostRunAsync("thread-dismiss", "run-1", Task, BeforeSynthesis)).ReadAllEventsAsync();
        object[] dismiss = [new { interruptId = Interrupt(first)["id"]!.GetValue<string>(), status = "cancelled" }];

        using (var open = await reader.PostRunAsync("thread-dismiss", "run-2", Task, resume: dismiss))
        {
            Assert.Equal(HttpStatusCode.Forbidden, open.StatusCode);
        }

        await AssertStillWaitsAsync(approver, first.WorkflowOf());
        Assert.Equal(HttpStatusCode.OK, (await approver.DecideAsync(first.WorkflowOf(), "apr_synthesis_1", "approve")).StatusCode);
        var after = await (await reader.PostRunAsync("thread-dismiss", "run-3", Task, resume: dismiss)).ReadAllEventsAsync();

        AgUiProtocolRules.AssertValidRun(after.Select(f => f.Event).ToList());
        Assert.Equal("success", after[^1].Event["outcome"]!["type"]!.GetValue<string>());
        Assert.Equal("approve", Assert.Single((await approver.ListApprovalsAsync(first.WorkflowOf())).Approvals).Decision);
    }

    // @ag-ui/client answers an interrupt past its expiresAt only as cancelled. In the moments before the deadline's check
    // settled the request, that dismissal was taken as a reject, whatever the request's on_timeout said.
    [Fact]
    public async Task ADismissalOfAnInterruptPastItsDeadlineTakesTheDeadlinesOutcome()
    {
        await using var app = TenantApplication.Create(new Dictionary<string, string?>
        {
            ["Felix:Security:ApiKeys:3:Key"] = ApproverKeyA,
            ["Felix:Security:ApiKeys:3:Tenant"] = "tenant-a",
            ["Felix:Security:ApiKeys:3:Scopes:0"] = "felix.approve",
            // The deadline's check runs at start and then hourly: never while this request is open.
            ["Felix:Approvals:DeadlineCheckInterval"] = "01:00:00",
        }, kestrel: true);
        using var approver = app.CreateApiClient(ApproverKeyA);
        var first = await (await approver.PostRunAsync("thread-expired", "run-1", Task,
            new { max_steps = 1, approval = new { before_synthesis = true, timeout_seconds = 1, on_timeout = "approve" } })).ReadAllEventsAsync();
        var interrupt = Interrupt(first);
        var expiresAt = DateTimeOffset.Parse(interrupt["expiresAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        await Poll.UntilAsync(() => System.Threading.Tasks.Task.FromResult(DateTimeOffset.UtcNow > expiresAt), "the interrupt's deadline to pass");
        Assert.Equal(ApprovalInfo.Pending, Assert.Single((await approver.ListApprovalsAsync(first.WorkflowOf())).Approvals).Status);

        var after = await (await approver.PostRunAsync("thread-expired", "run-2", Task,
            resume: [new { interruptId = interrupt["id"]!.GetValue<string>(), status = "cancelled" }])).ReadAllEventsAsync();

        AgUiProtocolRules.AssertValidRun(after.Select(f => f.Event).ToList());
        Assert.Equal("success", after[^1].Event["outcome"]!["type"]!.GetValue<string>());
        var approval = Assert.Single((await approver.ListApprovalsAsync(first.WorkflowOf())).Approvals);
        Assert.Equal(("approve", "deadline"), (approval.Decision, approval.DecidedBy));
        Assert.Equal(WorkflowStatuses.Completed, (await approver.GetWorkflowAsync(first.WorkflowOf())).Status);
    }

    [Fact]
    public async Task AResumeOfAnInterruptDecidedElsewhereIsRefusedWith409AndOfAnUnknownOneWith422()
    {
        await using var app = CreateApp();
        using var approver = app.CreateApiClient(ApproverKeyA);
        var first = await (await approver.PostRunAsync("thread-stale", "run-1", Task, BeforeSynthesis)).ReadAllEventsAsync();
        var workflowId = first.WorkflowOf();
        var interruptId = Interrupt(first)["id"]!.GetValue<string>();
        var decided = await approver.DecideAsync(workflowId, "apr_synthesis_1", "approve");
        Assert.Equal(HttpStatusCode.OK, decided.StatusCode);

        // A different answer conflicts; a dismissal (cancelled) would be let through (AgUiClientTests.HttpAgentThatDismisses...).
        using var stale = await approver.PostRunAsync("thread-stale", "run-2", Task,
            resume: [new { interruptId, status = "resolved", payload = new { decision = "reject" } }]);
        using var unknown = await approver.PostRunAsync("thread-stale", "run-2", Task,
            resume: [new { interruptId = $"{workflowId}.apr_missing", status = "resolved", payload = new { decision = "approve" } }]);
        // The same answer from the same caller is a retry (its resumed run dropped): it gets the rest of the run.
        var retried = await (await approver.PostRunAsync("thread-stale", "run-3", Task,
            resume: [new { interruptId, status = "resolved", payload = new { decision = "approve" } }])).ReadAllEventsAsync();

        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        var conflict = JsonNode.Parse(await stale.Content.ReadAsStringAsync())!;
        Assert.Equal(("Approval already decided", "approve"), (conflict["title"]!.GetValue<string>(), conflict["decision"]!.GetValue<string>()));
        Assert.Contains(interruptId, conflict["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, unknown.StatusCode);
        var invalid = JsonNode.Parse(await unknown.Content.ReadAsStringAsync())!;
        Assert.Equal($"Thread 'thread-stale' has no interrupt '{workflowId}.apr_missing'.", invalid["errors"]!["resume[0].interruptId"]![0]!.GetValue<string>());
        AgUiProtocolRules.AssertValidRun(retried.Select(f => f.Event).ToList());
        Assert.Equal("success", retried[^1].Event["outcome"]!["type"]!.GetValue<string>());
        Assert.Equal(WorkflowStatuses.Completed, (await approver.GetWorkflowAsync(workflowId)).Status);
    }

    [Fact]
    public async Task ARevisionAnsweredInAResumeAsksAgainWithANewInterruptThatApprovingCompletes()
    {
        await using var app = CreateApp();
        using var approver = app.CreateApiClient(ApproverKeyA);
        var first = await (await approver.PostRunAsync("thread-revise", "run-1", Task, BeforeSynthesis)).ReadAllEventsAsync();
        var workflowId = first.WorkflowOf();

        var revised = await (await approver.PostRunAsync("thread-revise", "run-2", Task, resume:
            [new { interruptId = Interrupt(first)["id"]!.GetValue<string>(), status = "resolved", payload = new { decision = "revise", comment = "Name one concrete use." } }]))
            .ReadAllEventsAsync();
        var approved = await (await approver.PostRunAsync("thread-revise", "run-3", Task, resume:
            [new { interruptId = Interrupt(revised)["id"]!.GetValue<string>(), status = "resolved", payload = new { decision = "approve" } }]))
            .ReadAllEventsAsync();

        Assert.Equal($"{workflowId}.apr_synthesis_2", Interrupt(revised)["id"]!.GetValue<string>());
        AgUiProtocolRules.AssertValidRun(revised.Select(f => f.Event).ToList());
        AgUiProtocolRules.AssertValidRun(approved.Select(f => f.Event).ToList());
        Assert.Equal("success", approved[^1].Event["outcome"]!["type"]!.GetValue<string>());
        var approvals = (await approver.ListApprovalsAsync(workflowId)).Approvals;
        Assert.Equal(
            [("revise", "Name one concrete use."), ("approve", null)],
            approvals.Select(a => (a.Decision, a.Comment)));
        Assert.Equal(WorkflowStatuses.Completed, (await approver.GetWorkflowAsync(workflowId)).Status);
    }

    private static JsonObject Interrupt(List<(string? Id, JsonObject Event)> run)
    {
        var end = run[^1].Event;
        Assert.Equal(("RUN_FINISHED", "interrupt"), (AgUiProtocolRules.Type(end), end["outcome"]!["type"]!.GetValue<string>()));
        return Assert.Single(end["outcome"]!["interrupts"]!.AsArray())!.AsObject();
    }
}
