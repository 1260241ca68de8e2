using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Approvals;

/// <summary>Approvals at each point, decided over REST, against the real server with the offline model.</summary>
public sealed class ApprovalRestTests
{
    [Fact]
    public async Task BeforeSynthesisWaitsThenCompletesWithTheApprovedSynthesis()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var id = await client.CreateWithApprovalAsync(new { before_synthesis = true });

        var pending = await client.WaitForPendingApprovalAsync(id);
        var decided = await client.DecideAsync(id, pending.ApprovalId, "approve", "Looks right.");
        var workflow = await client.WaitForTerminalAsync(id);

        Assert.Equal(HttpStatusCode.OK, decided.StatusCode);
        var resolution = (await decided.Content.ReadFromJsonAsync<ApprovalInfo>(WorkflowApiExtensions.Json))!;
        Assert.Equal(("approve", "Looks right.", "development", ApprovalInfo.Resolved), (resolution.Decision, resolution.Comment, resolution.DecidedBy, resolution.Status));
        Assert.Equal(ApprovalDecisions.SynthesisKind, pending.Kind);
        Assert.Null(pending.AgentId);
        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        Assert.Equal(pending.Content, workflow.Synthesis!.Content);
        var events = await client.ReadEventsAsync(id);
        var types = events.Select(e => e.Type).ToList();
        var requested = types.IndexOf(EventTypes.ApprovalRequested);
        Assert.True(requested > types.IndexOf(EventTypes.SynthesisStarted), string.Join(", ", types));
        Assert.Equal(WorkflowStatuses.AwaitingApproval, ((WorkflowStatusEvent)events[requested + 1]).Status);
        var resolved = Assert.IsType<ApprovalResolvedEvent>(Assert.Single(events, e => e is ApprovalResolvedEvent));
        Assert.Equal((pending.ApprovalId, "approve", "development"), (resolved.ApprovalId, resolved.Decision, resolved.DecidedBy));
        Assert.Equal(EventTypes.WorkflowComplete, types[^1]);
        DurableHistoryOfApprovals.AssertNoAgentRanTwice(events);
    }

    [Fact]
    public async Task EveryAgentWaitsAfterEachAgentAndTheRunCompletesOnceAllAreApproved()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var id = await client.CreateWithApprovalAsync(new { every_agent = true }, maxSteps: 3);

        var first = await client.WaitForPendingApprovalAsync(id);
        var approved = await client.ApproveUntilTerminalAsync(id);

        Assert.Equal((ApprovalDecisions.AgentOutputKind, "research_001"), (first.Kind, first.AgentId));
        var workflow = await client.GetWorkflowAsync(id);
        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        Assert.Equal(workflow.AgentsSpawned.Count, approved);
        var events = await client.ReadEventsAsync(id);
        // Each agent's output is followed by its request before the next agent spawns.
        foreach (var output in events.OfType<AgentOutputEvent>())
        {
            var next = events.SkipWhile(e => e != output).Skip(1).First(e => e is ApprovalRequestedEvent or AgentSpawnedEvent or SynthesisStartedEvent);
            Assert.Equal(output.AgentId, Assert.IsType<ApprovalRequestedEvent>(next).AgentId);
        }

        DurableHistoryOfApprovals.AssertNoAgentRanTwice(events);
    }

    [Fact]
    public async Task BelowConfidenceAndAgentTypesWaitOnlyForTheAgentsTheyName()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        // No agent is below 0 confidence: only the chosen role waits.
        var id = await client.CreateWithApprovalAsync(new { below_confidence = 0.0, agent_types = new[] { "analysis" } }, maxSteps: 3);
        var byRole = await client.WaitForPendingApprovalAsync(id);
        await client.ApproveUntilTerminalAsync(id);
        // Every agent is below full confidence: each waits.
        var everyone = await client.CreateWithApprovalAsync(new { below_confidence = 1.0 }, maxSteps: 2);
        await client.WaitForPendingApprovalAsync(everyone);
        await client.ApproveUntilTerminalAsync(everyone);

        Assert.StartsWith("analysis_", byRole.AgentId);
        Assert.All((await client.ListApprovalsAsync(id)).Approvals, a => Assert.StartsWith("analysis_", a.AgentId));
        Assert.Equal(2, (await client.ListApprovalsAsync(everyone)).Approvals.Count);
    }

    // The roles were stored as sent, repeats and all (a 1 MiB AG-UI body repeats one over 100,000 times), and the record
    // carried them through every update and every deadline check.
    [Fact]
    public async Task AgentTypesAreKeptOncePerRole()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();

        var id = await client.CreateWithApprovalAsync(
            new { agent_types = Enumerable.Repeat("critic", 5_000).Append("Critic").Append("analysis").ToArray() }, maxSteps: 1);

        var stored = await app.Services.GetRequiredService<IWorkflowStore>().GetAsync(id).DefaultTimeout();
        Assert.Equal(["critic", "analysis"], stored!.Approval!.AgentTypes.ToArray());
    }

    [Fact]
    public async Task RejectEndsTheWorkflowCancelledSayingWhoRejectedItAndWhy()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var id = await client.CreateWithApprovalAsync(new { every_agent = true });
        var pending = await client.WaitForPendingApprovalAsync(id);

        var response = await client.DecideAsync(id, pending.ApprovalId, "reject", "Off topic.");
        var workflow = await client.WaitForTerminalAsync(id);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(WorkflowStatuses.Cancelled, workflow.Status);
        var last = Assert.IsType<WorkflowStatusEvent>((await client.ReadEventsAsync(id))[^1]);
        Assert.Equal(WorkflowStatuses.Cancelled, last.Status);
        Assert.Contains("development", last.Reason);
        Assert.Contains("Off topic.", last.Reason);
        Assert.Single(workflow.AgentsSpawned);
    }

    [Fact]
    public async Task ReviseRunsTheSameStepAgainWithTheRemarkInItsPromptAsANewAttempt()
    {
        var model = new RecordingModel();
        await using var app = new FelixApplication().WithServices(model.Install);
        using var client = app.CreateApiClient();
        var id = await client.CreateWithApprovalAsync(new { agent_types = new[] { "research" } }, maxSteps: 2);
        var pending = await client.WaitForPendingApprovalAsync(id);
        var promptsBefore = model.Prompts.Count;

        var revise = await client.DecideAsync(id, pending.ApprovalId, "revise", "Mention superposition by name.");
        var second = await client.WaitForPendingApprovalAsync(id);
        await client.DecideAsync(id, second.ApprovalId, "approve");
        var workflow = await client.WaitForTerminalAsync(id);

        Assert.Equal(HttpStatusCode.OK, revise.StatusCode);
        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        Assert.Equal(pending.AgentId, second.AgentId);
        Assert.NotEqual(pending.ApprovalId, second.ApprovalId);
        Assert.Contains("Mention superposition by name.", model.Prompts[promptsBefore]);
        Assert.DoesNotContain(model.Prompts.Take(promptsBefore), p => p.Contains("superposition by name", StringComparison.Ordinal));
        var events = await client.ReadEventsAsync(id);
        Assert.Equal(2, events.OfType<AgentOutputEvent>().Count(e => e.AgentId == pending.AgentId));
        Assert.Single(events.OfType<AgentSpawnedEvent>(), e => e.AgentId == pending.AgentId);
        Assert.Contains(events.OfType<AgentOutputDeltaEvent>(), d => d.AgentId == pending.AgentId && d.Attempt == 2);
        // Research twice, analysis once after the revision, then the synthesis: no other step ran again.
        Assert.Equal(2, workflow.AgentsSpawned.Count);
        Assert.Equal(4, model.Prompts.Count);
    }

    [Fact]
    public async Task AStepSentBackAsOftenAsTheSettingsAllowIsRefusedAnotherRevisionAndCanStillBeApproved()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Approvals:MaxRevisionsPerStep"] = "1" });
        using var client = app.CreateApiClient();
        var id = await client.CreateWithApprovalAsync(new { agent_types = new[] { "research" } }, maxSteps: 2);
        var first = await client.WaitForPendingApprovalAsync(id);
        Assert.Equal(HttpStatusCode.OK, (await client.DecideAsync(id, first.ApprovalId, "revise", "Shorter.")).StatusCode);
        var second = await client.WaitForPendingApprovalAsync(id);

        var refused = await client.DecideAsync(id, second.ApprovalId, "revise", "Shorter still.");

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        Assert.Equal("Revision limit reached", (string?)problem["title"]);
        Assert.Contains($"agent '{first.AgentId}' was sent back 1 times", (string?)problem["detail"], StringComparison.Ordinal);
        // The request stays open: the refusal decided nothing, and the step can still be approved.
        var open = await client.WaitForPendingApprovalAsync(id);
        Assert.Equal(second.ApprovalId, open.ApprovalId);
        Assert.Equal(HttpStatusCode.OK, (await client.DecideAsync(id, second.ApprovalId, "approve")).StatusCode);
        Assert.Equal(WorkflowStatuses.Completed, (await client.WaitForTerminalAsync(id)).Status);
        var events = await client.ReadEventsAsync(id);
        Assert.Equal(["revise", "approve"], events.OfType<ApprovalResolvedEvent>().Select(e => e.Decision));
    }

    [Fact]
    public async Task ConcurrentDecisionsExactlyOneWinsTheOthersGet409NamingIt()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var id = await client.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await client.WaitForPendingApprovalAsync(id);
        string[] decisions = ["approve", "reject", "approve", "reject", "approve", "reject", "approve", "reject"];

        var responses = await Task.WhenAll(decisions.Select(d => client.DecideAsync(id, pending.ApprovalId, d, "race")));

        var winner = Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
        var won = (await winner.Content.ReadFromJsonAsync<ApprovalInfo>(WorkflowApiExtensions.Json))!.Decision;
        foreach (var loser in responses.Where(r => r != winner))
        {
            Assert.Equal(HttpStatusCode.Conflict, loser.StatusCode);
            var problem = JsonNode.Parse(await loser.Content.ReadAsStringAsync())!;
            Assert.Equal("Approval already decided", problem["title"]!.GetValue<string>());
            Assert.Equal(won, problem["decision"]!.GetValue<string>());
            Assert.Contains(won!, problem["detail"]!.GetValue<string>());
        }

        var workflow = await client.WaitForTerminalAsync(id);
        Assert.Equal(won == "approve" ? WorkflowStatuses.Completed : WorkflowStatuses.Cancelled, workflow.Status);
        Assert.Single((await client.ReadEventsAsync(id)).OfType<ApprovalResolvedEvent>());
    }

    [Fact]
    public async Task DeadlineTakesTheDefaultOutcomeRejectUnlessToldOtherwise()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Approvals:DeadlineCheckInterval"] = "00:00:00.100" });
        using var client = app.CreateApiClient();
        var rejected = await client.CreateWithApprovalAsync(new { before_synthesis = true, timeout_seconds = 1 }, maxSteps: 1);
        var approved = await client.CreateWithApprovalAsync(new { before_synthesis = true, timeout_seconds = 1, on_timeout = "approve" }, maxSteps: 1);

        var first = await client.WaitForTerminalAsync(rejected);
        var second = await client.WaitForTerminalAsync(approved);

        Assert.Equal(WorkflowStatuses.Cancelled, first.Status);
        Assert.Equal(WorkflowStatuses.Completed, second.Status);
        var approval = Assert.Single((await client.ListApprovalsAsync(rejected)).Approvals);
        Assert.Equal(("reject", "deadline"), (approval.Decision, approval.DecidedBy));
        Assert.Contains("deadline", Assert.IsType<WorkflowStatusEvent>((await client.ReadEventsAsync(rejected))[^1]).Reason);
        Assert.Equal("deadline", Assert.Single((await client.ListApprovalsAsync(approved)).Approvals).DecidedBy);
    }

    [Fact]
    public async Task WaitingWorkflowsHoldNoEngineSlotSoOthersRunMeanwhile()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Workflows:MaxConcurrent"] = "2" });
        using var client = app.CreateApiClient();
        var waiting = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            waiting.Add(await client.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1, task: $"Waiting task {i}"));
        }

        foreach (var id in waiting)
        {
            await client.WaitForPendingApprovalAsync(id);
        }

        var other = await client.CreateWorkflowAsync("Runs while five wait", maxSteps: 2);
        var completed = await client.WaitForTerminalAsync(other.WorkflowId);

        Assert.Equal(WorkflowStatuses.Completed, completed.Status);
        foreach (var id in waiting)
        {
            Assert.Equal(WorkflowStatuses.AwaitingApproval, (await client.GetWorkflowAsync(id)).Status);
        }

        foreach (var id in waiting)
        {
            await client.ApproveUntilTerminalAsync(id);
            Assert.Equal(WorkflowStatuses.Completed, (await client.GetWorkflowAsync(id)).Status);
        }
    }

    [Fact]
    public async Task CancelWhileWaitingEndsTheWorkflowAndItsRequestCanNoLongerBeDecided()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var id = await client.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await client.WaitForPendingApprovalAsync(id);

        var cancel = await client.DeleteAsync($"api/v1/workflows/{id}").DefaultTimeout();
        var late = await client.DecideAsync(id, pending.ApprovalId, "approve");

        Assert.Equal(HttpStatusCode.NoContent, cancel.StatusCode);
        Assert.Equal(WorkflowStatuses.Cancelled, (await client.WaitForTerminalAsync(id)).Status);
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        // The cancel withdrew the request: a late decider is told so, and by whom.
        var problem = JsonNode.Parse(await late.Content.ReadAsStringAsync())!;
        Assert.Equal(("Approval already decided", "withdrawn", "development"),
            (problem["title"]!.GetValue<string>(), problem["decision"]!.GetValue<string>(), problem["decided_by"]!.GetValue<string>()));
    }

    [Fact]
    public async Task BadApprovalSettingsAndDecisionsGet422PerField()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();

        var create = await client.PostAsJsonAsync("api/v1/workflows", new
        {
            task = "x",
            approval = new { below_confidence = 1.5, agent_types = new[] { "wizard" }, timeout_seconds = 0, on_timeout = "revise" },
        }).DefaultTimeout();
        var id = await client.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await client.WaitForPendingApprovalAsync(id);
        var badDecision = await client.DecideAsync(id, pending.ApprovalId, "maybe");
        var reviseWithoutComment = await client.DecideAsync(id, pending.ApprovalId, "revise");
        var unknown = await client.DecideAsync(id, "apr_missing", "approve");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, create.StatusCode);
        var errors = JsonNode.Parse(await create.Content.ReadAsStringAsync())!["errors"]!.AsObject();
        Assert.Equal(
            ["approval.agent_types", "approval.below_confidence", "approval.on_timeout", "approval.timeout_seconds"],
            errors.Select(e => e.Key).Order(StringComparer.Ordinal));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, badDecision.StatusCode);
        Assert.NotNull(JsonNode.Parse(await badDecision.Content.ReadAsStringAsync())!["errors"]!["decision"]);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reviseWithoutComment.StatusCode);
        Assert.NotNull(JsonNode.Parse(await reviseWithoutComment.Content.ReadAsStringAsync())!["errors"]!["comment"]);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("Approval not found", JsonNode.Parse(await unknown.Content.ReadAsStringAsync())!["title"]!.GetValue<string>());
        Assert.Equal(ApprovalInfo.Pending, Assert.Single((await client.ListApprovalsAsync(id)).Approvals).Status);
    }

    [Fact]
    public async Task AnApprovalFieldTheServerDoesNotKnowIsRefusedRatherThanIgnored()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();

        // A misspelt gate, ignored, would ask nobody and let the workflow complete on its own.
        var misspelt = await client.PostAsJsonAsync("api/v1/workflows", new
        {
            task = "x",
            max_steps = 1,
            approval = new { before_synthesys = true, timeout_seconds = 60 },
        }).DefaultTimeout();

        Assert.Equal(HttpStatusCode.UnprocessableEntity, misspelt.StatusCode);
        var errors = JsonNode.Parse(await misspelt.Content.ReadAsStringAsync())!["errors"]!.AsObject();
        Assert.Equal(["approval.before_synthesys"], errors.Select(e => e.Key));
        Assert.Contains("before_synthesis", errors["approval.before_synthesys"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0, (await client.GetFromJsonAsync<JsonObject>("api/v1/workflows").DefaultTimeout())!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task ACommentsLengthIsCountedInCharactersAsItsSchemasMaxLengthIs()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var id = await client.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await client.WaitForPendingApprovalAsync(id);
        var rocket = "\U0001F680";

        // JSON Schema's maxLength (AG-UI's responseSchema) counts characters: 2,000 rockets are 4,000 UTF-16 units.
        var overLimit = await client.DecideAsync(id, pending.ApprovalId, "revise", string.Concat(Enumerable.Repeat(rocket, 2_001)));
        var atLimit = await client.DecideAsync(id, pending.ApprovalId, "revise", string.Concat(Enumerable.Repeat(rocket, 2_000)));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, overLimit.StatusCode);
        Assert.NotNull(JsonNode.Parse(await overLimit.Content.ReadAsStringAsync())!["errors"]!["comment"]);
        Assert.Equal(HttpStatusCode.OK, atLimit.StatusCode);
    }

    [Fact]
    public async Task ServerDefaultAppliesWhenTheRequestSaysNothingAndNothingWaitsWithoutIt()
    {
        await using var plain = new FelixApplication();
        await using var configured = new FelixApplication(new Dictionary<string, string?> { ["Felix:Approvals:BeforeSynthesis"] = "true" });
        using var plainClient = plain.CreateApiClient();
        using var configuredClient = configured.CreateApiClient();

        var untouched = await plainClient.CreateWorkflowAsync(maxSteps: 1);
        var byDefault = await configuredClient.CreateWorkflowAsync(maxSteps: 1);
        var optedOut = await configuredClient.CreateWithApprovalAsync(new { before_synthesis = false }, maxSteps: 1);

        Assert.Equal(WorkflowStatuses.Completed, (await plainClient.WaitForTerminalAsync(untouched.WorkflowId)).Status);
        Assert.Empty((await plainClient.ListApprovalsAsync(untouched.WorkflowId)).Approvals);
        await configuredClient.WaitForPendingApprovalAsync(byDefault.WorkflowId);
        Assert.Equal(WorkflowStatuses.Completed, (await configuredClient.WaitForTerminalAsync(optedOut)).Status);
    }
}

internal static class DurableHistoryOfApprovals
{
    /// <summary>No agent was spawned twice: a parked run resumes from its history without re-running committed work.</summary>
    public static void AssertNoAgentRanTwice(IReadOnlyList<WorkflowEvent> events)
    {
        var spawned = events.OfType<AgentSpawnedEvent>().Select(e => e.AgentId).ToList();
        Assert.Equal(spawned.Distinct().Count(), spawned.Count);
        var outputs = events.OfType<AgentOutputEvent>().Select(e => e.AgentId).ToList();
        Assert.Equal(outputs.Distinct().Count(), outputs.Count);
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
    }
}
