using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.AgUi;

/// <summary>Approvals as AG-UI interrupts, answered by the reference client's own resume entries.</summary>
public sealed partial class AgUiClientTests
{
    private const string ColleagueKey = "agui-colleague-key";
    private const string SubmitterKey = "agui-submitter-key";
    private static readonly object BeforeSynthesis = new { max_steps = 2, approval = new { before_synthesis = true } };

    [Fact]
    public async Task HttpAgentGetsAnApprovalAsAnInterruptAndApprovingItInTheNextRunStreamsTheSynthesis()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key }, kestrel: true);

        var output = await RunAsync(app, new
        {
            key = Key, threadId = "thread-approve", task = "Explain quantum computing", forwardedProps = BeforeSynthesis,
            resume = new { status = "resolved", payload = new { decision = "approve", comment = "Ship it." } },
        });

        Assert.Empty(output["warnings"]!.AsArray());
        var (interrupted, resumed) = Runs(output);
        Assert.Null(interrupted["error"]);
        var first = Events(interrupted);
        AgUiProtocolRules.AssertValidRun(first);
        var workflowId = first[0]["metadata"]!["felix"]!["workflowId"]!.GetValue<string>();
        using var client = app.CreateApiClient();
        var history = await client.ReadEventsAsync(workflowId);
        var request = history.OfType<ApprovalRequestedEvent>().Single();
        var interrupt = Assert.Single(first[^1]["outcome"]!["interrupts"]!.AsArray())!;
        Assert.Equal(("RUN_FINISHED", "interrupt"), (AgUiProtocolRules.Type(first[^1]), first[^1]["outcome"]!["type"]!.GetValue<string>()));
        Assert.Equal($"{workflowId}.{request.ApprovalId}", interrupt["id"]!.GetValue<string>());
        Assert.Equal("approval", interrupt["reason"]!.GetValue<string>());
        Assert.Equal(request.ExpiresAt, interrupt["expiresAt"]!.GetValue<string>());
        var felix = interrupt["metadata"]!["felix"]!;
        Assert.Equal(
            (request.ApprovalId, ApprovalDecisions.SynthesisKind, request.Content, request.Confidence, request.ExpiresAt),
            (felix["approvalId"]!.GetValue<string>(), felix["kind"]!.GetValue<string>(), felix["content"]!.GetValue<string>(),
                felix["confidence"]!.GetValue<double>(), felix["expiresAt"]!.GetValue<string>()));
        Assert.Equal(ApprovalDecisions.All, felix["options"]!.AsArray().Select(o => o!.GetValue<string>()));
        Assert.Equal(interrupt["id"]!.GetValue<string>(), Assert.Single(interrupted["pendingInterrupts"]!.AsArray())!["id"]!.GetValue<string>());
        Assert.Equal(interrupt["id"]!.GetValue<string>(), Assert.Single(resumed["resume"]!.AsArray())!["interruptId"]!.GetValue<string>());

        Assert.Null(resumed["error"]);
        var second = Events(resumed);
        AgUiProtocolRules.AssertValidRun(second);
        Assert.Equal(("RUN_FINISHED", "success"), (AgUiProtocolRules.Type(second[^1]), second[^1]["outcome"]!["type"]!.GetValue<string>()));
        Assert.Empty(resumed["pendingInterrupts"]!.AsArray());
        history = await client.ReadEventsAsync(workflowId);
        var resolved = history.OfType<ApprovalResolvedEvent>().Single();
        Assert.Equal(("approve", "Ship it."), (resolved.Decision, resolved.Comment));
        var complete = Assert.IsType<WorkflowCompleteEvent>(history[^1]);
        Assert.Equal(request.Content, complete.Synthesis.Content);
        Assert.Equal(complete.Synthesis.Content, resumed["result"]!["content"]!.GetValue<string>());
        // The agents' texts reached the client in the first run: the second sends only the synthesis.
        Assert.Equal([$"{workflowId}.synthesis"], AgUiProtocolRules.Texts(second).Keys);
        var messages = output["messages"]!.AsArray().Select(m => m!.AsObject()).ToList();
        Assert.Equal(complete.Synthesis.Content, messages[^1]["content"]!.GetValue<string>());
        foreach (var agent in history.OfType<AgentOutputEvent>())
        {
            var text = Assert.Single(messages, m => m["role"]!.GetValue<string>() == "assistant"
                && m["subagentRunId"]?.GetValue<string>() == $"{workflowId}.{agent.AgentId}");
            Assert.Equal(agent.Content, text["content"]!.GetValue<string>());
        }

        Assert.Equal(WorkflowStatuses.Completed, (await client.GetWorkflowAsync(workflowId)).Status);
    }

    [Fact]
    public async Task HttpAgentThatRejectsTheInterruptInTheNextRunGetsTheRunCancelled()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key }, kestrel: true);

        var output = await RunAsync(app, new
        {
            key = Key, threadId = "thread-reject", task = "Explain quantum computing", forwardedProps = BeforeSynthesis,
            resume = new { status = "resolved", payload = new { decision = "reject", comment = "Not for publication." } },
        });

        Assert.Empty(output["warnings"]!.AsArray());
        var (interrupted, resumed) = Runs(output);
        Assert.Equal("interrupt", Events(interrupted)[^1]["outcome"]!["type"]!.GetValue<string>());
        Assert.Null(resumed["error"]);
        var second = Events(resumed);
        AgUiProtocolRules.AssertValidRun(second);
        Assert.Equal(("RUN_FINISHED", "cancelled"), (AgUiProtocolRules.Type(second[^1]), second[^1]["outcome"]!["type"]!.GetValue<string>()));
        Assert.Empty(AgUiProtocolRules.Texts(second));
        Assert.Equal(WorkflowStatuses.Cancelled, output["state"]!["status"]!.GetValue<string>());
        Assert.Equal(("resolved", "reject"), (output["state"]!["approval"]!["status"]!.GetValue<string>(), output["state"]!["approval"]!["decision"]!.GetValue<string>()));
        var workflowId = second[0]["metadata"]!["felix"]!["workflowId"]!.GetValue<string>();
        using var client = app.CreateApiClient();
        Assert.Equal(WorkflowStatuses.Cancelled, (await client.GetWorkflowAsync(workflowId)).Status);
    }

    [Fact]
    public async Task HttpAgentThatDismissesAnInterruptAnotherClientDecidedGetsTheRunOfThatDecision()
    {
        // A front end whose interrupt someone else decided (REST, the hub) can only run the thread again with a resume
        // entry for it: @ag-ui/client refuses a run that leaves a pending interrupt unanswered. Dismissing it must
        // let the thread go on and show the winner's decision, or the thread is stuck for that front end.
        await using var app = CreateAppWithAColleague();

        var output = await RunAsync(app, new
        {
            key = Key, threadId = "thread-decided-elsewhere", task = "Explain quantum computing", forwardedProps = BeforeSynthesis,
            between = new { decide = new { key = ColleagueKey, decision = "approve" } },
            resume = new { status = "cancelled" },
        });

        var second = DismissingRun(output, "success");
        Assert.Equal([200], output["decided"]!.AsArray().Select(s => s!.GetValue<int>()));
        Assert.Empty(Runs(output).Second["pendingInterrupts"]!.AsArray());
        Assert.Equal(("resolved", "approve", "api-key:default:dana"),
            (output["state"]!["approval"]!["status"]!.GetValue<string>(), output["state"]!["approval"]!["decision"]!.GetValue<string>(),
                output["state"]!["approval"]!["decidedBy"]!.GetValue<string>()));
        var workflowId = second[0]["metadata"]!["felix"]!["workflowId"]!.GetValue<string>();
        using var client = app.CreateApiClient();
        var resolved = Assert.Single((await client.ReadEventsAsync(workflowId)).OfType<ApprovalResolvedEvent>());
        Assert.Equal(("approve", "api-key:default:dana"), (resolved.Decision, resolved.DecidedBy));
        Assert.Equal(WorkflowStatuses.Completed, (await client.GetWorkflowAsync(workflowId)).Status);
    }

    [Fact]
    public async Task HttpAgentThatCancelsAnExpiredInterruptAsTheProtocolAsksGetsTheRunOfTheDeadlineDecision()
    {
        // @ag-ui/client refuses to answer an interrupt past its expiresAt other than with status cancelled ("Cancel it to
        // continue the thread"); by then the deadline has decided the approval.
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key }, kestrel: true);

        var output = await RunAsync(app, new
        {
            key = Key, threadId = "thread-expired", task = "Explain quantum computing",
            forwardedProps = new { max_steps = 2, approval = new { before_synthesis = true, timeout_seconds = 1, on_timeout = "approve" } },
            between = new { awaitDecision = true },
            resume = new { status = "cancelled" },
        });

        var second = DismissingRun(output, "success");
        Assert.Equal(("approve", "deadline"),
            (output["state"]!["approval"]!["decision"]!.GetValue<string>(), output["state"]!["approval"]!["decidedBy"]!.GetValue<string>()));
        var workflowId = second[0]["metadata"]!["felix"]!["workflowId"]!.GetValue<string>();
        using var client = app.CreateApiClient();
        Assert.Equal("deadline", Assert.Single((await client.ReadEventsAsync(workflowId)).OfType<ApprovalResolvedEvent>()).DecidedBy);
    }

    [Fact]
    public async Task HttpAgentOfASubmitterWithoutTheApproveScopeGoesOnOnceAnApproverDecidedItsInterrupt()
    {
        // The submitter's front end holds the interrupt and must answer it to run the thread again; dismissing a request
        // an approver has decided takes no decision, so it needs no felix.approve.
        await using var app = CreateAppWithAColleague(new Dictionary<string, string?>
        {
            ["Felix:Security:ApiKeys:1:Key"] = SubmitterKey,
            ["Felix:Security:ApiKeys:1:Tenant"] = "default",
            ["Felix:Security:ApiKeys:1:Name"] = "erin",
        });

        var output = await RunAsync(app, new
        {
            key = SubmitterKey, threadId = "thread-submitter", task = "Explain quantum computing", forwardedProps = BeforeSynthesis,
            between = new { decide = new { key = ColleagueKey, decision = "reject", comment = "Not for publication." } },
            resume = new { status = "cancelled" },
        });

        DismissingRun(output, "cancelled");
        Assert.Equal(("reject", "api-key:default:dana"),
            (output["state"]!["approval"]!["decision"]!.GetValue<string>(), output["state"]!["approval"]!["decidedBy"]!.GetValue<string>()));
    }

    /// <summary>A server with the default key and a colleague's (dana, who may approve), in the same tenant.</summary>
    private static FelixApplication CreateAppWithAColleague(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["FELIX_API_KEY"] = Key,
            ["Felix:Security:ApiKeys:0:Key"] = ColleagueKey,
            ["Felix:Security:ApiKeys:0:Tenant"] = "default",
            ["Felix:Security:ApiKeys:0:Name"] = "dana",
            ["Felix:Security:ApiKeys:0:Scopes:0"] = "felix.approve",
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return new FelixApplication(settings, kestrel: true);
    }

    /// <summary>
    /// The events of the second run, whose resume dismissed the interrupt: it ran without an error or a warning, as a valid
    /// AG-UI run that finished with <paramref name="outcome"/>.
    /// </summary>
    private static List<JsonObject> DismissingRun(JsonObject output, string outcome)
    {
        var (_, resumed) = Runs(output);
        Assert.True(resumed["error"] is null, $"the run that dismisses the interrupt failed: {resumed["error"]}");
        Assert.Empty(output["warnings"]!.AsArray());
        var events = Events(resumed);
        AgUiProtocolRules.AssertValidRun(events);
        Assert.Equal(("RUN_FINISHED", outcome), (AgUiProtocolRules.Type(events[^1]), events[^1]["outcome"]!["type"]!.GetValue<string>()));
        return events;
    }

    private static (JsonObject First, JsonObject Second) Runs(JsonObject output)
    {
        var runs = output["runs"]!.AsArray().Select(r => r!.AsObject()).ToList();
        Assert.Equal(2, runs.Count);
        return (runs[0], runs[1]);
    }

    private static List<JsonObject> Events(JsonObject run) => run["events"]!.AsArray().Select(e => e!.AsObject()).ToList();
}
