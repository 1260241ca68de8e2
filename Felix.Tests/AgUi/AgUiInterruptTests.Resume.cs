using System.Net;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Tests.Approvals;
using Felix.Tests.Infrastructure;
using Felix.Tests.Security;

namespace Felix.Tests.AgUi;

/// <summary>
/// A run's <c>resume</c> list is checked whole before any entry is taken: a request refused with 422 or 409 decides
/// nothing. And an interrupt whose workflow was cancelled is withdrawn, which the thread's next run shows.
/// </summary>
public sealed partial class AgUiInterruptTests
{
    [Fact]
    public async Task AResumeThatAnswersOneInterruptTwiceIsRefusedWith422AndDecidesNothing()
    {
        await using var app = CreateApp();
        using var approver = app.CreateApiClient(ApproverKeyA);
        var first = await (await approver.PostRunAsync("thread-twice", "run-1", Task, BeforeSynthesis)).ReadAllEventsAsync();
        var interruptId = Interrupt(first)["id"]!.GetValue<string>();

        using var twice = await approver.PostRunAsync("thread-twice", "run-2", Task, resume:
            [new { interruptId, status = "resolved", payload = new { decision = "approve" } }, new { interruptId, status = "cancelled" }]);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, twice.StatusCode);
        var problem = JsonNode.Parse(await twice.Content.ReadAsStringAsync())!;
        Assert.Equal($"Interrupt '{interruptId}' is answered twice: resume[0] answers it too.", problem["errors"]!["resume[1].interruptId"]![0]!.GetValue<string>());
        await AssertStillWaitsAsync(approver, first.WorkflowOf());
    }

    [Fact]
    public async Task AResumeWithAnUnknownInterruptAfterAValidOneIsRefusedWith422AndDecidesNothing()
    {
        await using var app = CreateApp();
        using var approver = app.CreateApiClient(ApproverKeyA);
        var first = await (await approver.PostRunAsync("thread-unknown", "run-1", Task, BeforeSynthesis)).ReadAllEventsAsync();
        var workflowId = first.WorkflowOf();

        using var unknown = await approver.PostRunAsync("thread-unknown", "run-2", Task, resume:
        [
            new { interruptId = Interrupt(first)["id"]!.GetValue<string>(), status = "resolved", payload = new { decision = "approve" } },
            new { interruptId = $"{workflowId}.apr_missing", status = "resolved", payload = new { decision = "approve" } },
        ]);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, unknown.StatusCode);
        var problem = JsonNode.Parse(await unknown.Content.ReadAsStringAsync())!;
        Assert.Equal($"Thread 'thread-unknown' has no interrupt '{workflowId}.apr_missing'.", problem["errors"]!["resume[1].interruptId"]![0]!.GetValue<string>());
        Assert.Null(problem["errors"]!["resume[0].interruptId"]);
        await AssertStillWaitsAsync(approver, workflowId);
    }

    [Fact]
    public async Task AResumeWithAnInterruptDecidedElsewhereAfterAValidOneIsRefusedWith409AndDecidesNothing()
    {
        await using var app = CreateApp();
        using var approver = app.CreateApiClient(ApproverKeyA);
        using var colleague = app.CreateApiClient(ApprovalScopeTests.Token("tenant-a", "felix.approve", "dana"));
        // Two user messages on one thread, each answered by a workflow that waits: two interrupts.
        var earlier = await (await approver.PostRunAsync("thread-two", "run-1", Task, BeforeSynthesis, messageId: "m1")).ReadAllEventsAsync();
        var later = await (await approver.PostRunAsync("thread-two", "run-2", "Summarise it", BeforeSynthesis, messageId: "m2",
            earlierMessages: [new { id = "m1", role = "user", content = Task }])).ReadAllEventsAsync();
        Assert.Equal(HttpStatusCode.OK, (await colleague.DecideAsync(earlier.WorkflowOf(), "apr_synthesis_1", "approve")).StatusCode);

        using var stale = await approver.PostRunAsync("thread-two", "run-3", "Summarise it", messageId: "m2",
            earlierMessages: [new { id = "m1", role = "user", content = Task }], resume:
            [
                new { interruptId = Interrupt(later)["id"]!.GetValue<string>(), status = "resolved", payload = new { decision = "approve" } },
                new { interruptId = Interrupt(earlier)["id"]!.GetValue<string>(), status = "resolved", payload = new { decision = "reject" } },
            ]);

        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        var conflict = JsonNode.Parse(await stale.Content.ReadAsStringAsync())!;
        Assert.Equal(("Approval already decided", "approve", "dana"),
            (conflict["title"]!.GetValue<string>(), conflict["decision"]!.GetValue<string>(), conflict["decided_by"]!.GetValue<string>()));
        Assert.Null(conflict["answered"]);
        await AssertStillWaitsAsync(approver, later.WorkflowOf());
    }

    [Fact]
    public async Task AnInterruptWhoseWorkflowWasCancelledIsWithdrawnAndTheNextRunFinishesCancelled()
    {
        await using var app = CreateApp();
        using var approver = app.CreateApiClient(ApproverKeyA);
        using var submitter = app.CreateApiClient(ApprovalScopeTests.Token("tenant-a", scope: null, subject: "erin"));
        var first = await (await submitter.PostRunAsync("thread-withdrawn", "run-1", Task, BeforeSynthesis)).ReadAllEventsAsync();
        var interruptId = Interrupt(first)["id"]!.GetValue<string>();

        Assert.Equal(HttpStatusCode.NoContent, (await submitter.DeleteAsync($"api/v1/workflows/{first.WorkflowOf()}").DefaultTimeout()).StatusCode);
        var again = await (await submitter.PostRunAsync("thread-withdrawn", "run-2", Task, lastEventId: first.Last(f => f.Id is not null).Id)).ReadAllEventsAsync();
        using var late = await approver.PostRunAsync("thread-withdrawn", "run-3", Task, resume:
            [new { interruptId, status = "resolved", payload = new { decision = "approve" } }]);

        AgUiProtocolRules.AssertValidRun(again.Select(f => f.Event).ToList());
        var approval = again.Select(f => f.Event).Where(e => AgUiProtocolRules.Type(e) == "STATE_DELTA")
            .SelectMany(e => e["delta"]!.AsArray()).Single(op => op!["path"]!.GetValue<string>() == "/approval")!["value"]!;
        Assert.Equal(("resolved", "withdrawn", "erin"),
            (approval["status"]!.GetValue<string>(), approval["decision"]!.GetValue<string>(), approval["decidedBy"]!.GetValue<string>()));
        Assert.Equal("cancelled", again[^1].Event["outcome"]!["type"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        var conflict = JsonNode.Parse(await late.Content.ReadAsStringAsync())!;
        Assert.Equal(("Approval already decided", "withdrawn", "erin"),
            (conflict["title"]!.GetValue<string>(), conflict["decision"]!.GetValue<string>(), conflict["decided_by"]!.GetValue<string>()));
    }

    [Fact]
    public async Task AResumePayloadWithACommentThatIsNotAStringIsRefusedWith422AndDecidesNothing()
    {
        // The payload is the REST route's body, which refuses such a comment; read as no comment, the rejection went
        // through with the reason lost.
        await using var app = CreateApp();
        using var approver = app.CreateApiClient(ApproverKeyA);
        var first = await (await approver.PostRunAsync("thread-comment-type", "run-1", Task, BeforeSynthesis)).ReadAllEventsAsync();
        var interruptId = Interrupt(first)["id"]!.GetValue<string>();

        using var wrong = await approver.PostRunAsync("thread-comment-type", "run-2", Task,
            resume: [new { interruptId, status = "resolved", payload = new { decision = "reject", comment = new[] { "Not for publication." } } }]);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, wrong.StatusCode);
        var problem = JsonNode.Parse(await wrong.Content.ReadAsStringAsync())!;
        Assert.Equal("comment must be a string.", problem["errors"]!["resume[0].payload.comment"]![0]!.GetValue<string>());
        await AssertStillWaitsAsync(approver, first.WorkflowOf());
    }

    private static async Task AssertStillWaitsAsync(HttpClient client, string workflowId)
    {
        var approval = Assert.Single((await client.ListApprovalsAsync(workflowId)).Approvals);
        Assert.Equal((ApprovalInfo.Pending, (string?)null), (approval.Status, approval.Decision));
        Assert.Equal(WorkflowStatuses.AwaitingApproval, (await client.GetWorkflowAsync(workflowId)).Status);
    }
}
