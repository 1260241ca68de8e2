using System.Net;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Approvals;

/// <summary>Approval requests and decisions over the hubs (JSON and MessagePack) and the raw WebSocket.</summary>
public sealed class ApprovalTransportTests
{
    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task HubClientSeesEachRequestLiveAndDecidesItThroughTheHub(string protocol)
    {
        var model = new HeldModel();
        await using var app = new FelixApplication().WithServices(model.Install);
        using var api = app.CreateApiClient();
        await using var connection = app.CreateHubConnection(protocol);
        var recorder = new HubEventRecorder(connection);
        var requested = new TaskCompletionSource<ApprovalRequestedEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        var decisions = new List<Task<ApprovalInfo>>();
        connection.On<ApprovalRequestedEvent>(nameof(IWorkflowClient.ApprovalRequested), e =>
        {
            // Decide each request as it arrives: the first revised, the others approved.
            var decision = new ApprovalDecision { Decision = decisions.Count == 0 ? "revise" : "approve", Comment = "Shorter, please." };
            lock (decisions)
            {
                decisions.Add(connection.InvokeAsync<ApprovalInfo>(nameof(IWorkflowHub.DecideApproval), e.WorkflowId, e.ApprovalId, decision));
            }
        });
        await connection.StartAsync().DefaultTimeout();
        var id = await api.CreateWithApprovalAsync(new { every_agent = true, before_synthesis = true }, maxSteps: 2);
        await connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), id, null).DefaultTimeout();
        model.Release();

        await recorder.Terminal.DefaultTimeout(TimeSpan.FromSeconds(30));

        Assert.Equal(WorkflowStatuses.Completed, (await api.WaitForTerminalAsync(id)).Status);
        var live = recorder.Received.Where(r => r.Event is ApprovalRequestedEvent or ApprovalResolvedEvent).ToList();
        Assert.Equal(
            [nameof(IWorkflowClient.ApprovalRequested), nameof(IWorkflowClient.ApprovalResolved)],
            live.Select(r => r.Method).Distinct().Order(StringComparer.Ordinal));
        var first = Assert.IsType<ApprovalRequestedEvent>(live[0].Event);
        Assert.Equal((ApprovalDecisions.AgentOutputKind, "research_001"), (first.Kind, first.AgentId));
        Assert.Equal(ApprovalDecisions.All, first.Options);
        Assert.False(string.IsNullOrEmpty(first.Content));
        Assert.True(DateTimeOffset.Parse(first.ExpiresAt, System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow);
        // research (revised, then approved), analysis, synthesis.
        Assert.Equal(4, live.Count(r => r.Event is ApprovalRequestedEvent));
        var resolved = live.Select(r => r.Event).OfType<ApprovalResolvedEvent>().ToList();
        Assert.Equal(["revise", "approve", "approve", "approve"], resolved.Select(r => r.Decision));
        Assert.Equal("development", resolved[0].DecidedBy);
        var answers = await Task.WhenAll(decisions);
        Assert.All(answers, a => Assert.Equal(ApprovalInfo.Resolved, a.Status));
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task HubRefusesBadDecisionsAndASecondDecisionWithClearMessages(string protocol)
    {
        await using var app = new FelixApplication();
        using var api = app.CreateApiClient();
        await using var connection = app.CreateHubConnection(protocol);
        await connection.StartAsync().DefaultTimeout();
        var id = await api.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await api.WaitForPendingApprovalAsync(id);

        var bad = await Assert.ThrowsAsync<HubException>(() =>
            connection.InvokeAsync<ApprovalInfo>(nameof(IWorkflowHub.DecideApproval), id, pending.ApprovalId, new ApprovalDecision { Decision = "maybe" }).DefaultTimeout());
        var missing = await Assert.ThrowsAsync<HubException>(() =>
            connection.InvokeAsync<ApprovalInfo>(nameof(IWorkflowHub.DecideApproval), id, "apr_missing", new ApprovalDecision { Decision = "approve" }).DefaultTimeout());
        var won = await connection.InvokeAsync<ApprovalInfo>(nameof(IWorkflowHub.DecideApproval), id, pending.ApprovalId, new ApprovalDecision { Decision = "reject", Comment = "No." }).DefaultTimeout();
        var second = await Assert.ThrowsAsync<HubException>(() =>
            connection.InvokeAsync<ApprovalInfo>(nameof(IWorkflowHub.DecideApproval), id, pending.ApprovalId, new ApprovalDecision { Decision = "approve" }).DefaultTimeout());

        Assert.Contains("decision must be one of approve, reject, revise.", bad.Message);
        Assert.Contains("has no approval 'apr_missing'", missing.Message);
        Assert.Equal("reject", won.Decision);
        Assert.Contains("already decided: reject by development", second.Message);
        Assert.Equal(WorkflowStatuses.Cancelled, (await api.WaitForTerminalAsync(id)).Status);
    }

    [Fact]
    public async Task RawEndpointSendsApprovalEventsOnlyWhenAskedForThem()
    {
        await using var app = new FelixApplication();
        using var api = app.CreateApiClient();
        var id = await api.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await api.WaitForPendingApprovalAsync(id);
        using var documented = await app.ConnectRawAsync($"api/v1/ws/workflows/{id}");
        using var optedIn = await app.ConnectRawAsync($"api/v1/ws/workflows/{id}?types=workflow_status,approval_requested,approval_resolved,workflow_complete");

        // Read past the snapshot and the history so far, then decide while both are open.
        var optedInFrames = new List<System.Text.Json.Nodes.JsonObject>();
        while (await optedIn.ReceiveJsonAsync() is { } frame)
        {
            optedInFrames.Add(frame);
            if (frame.Type() == EventTypes.ApprovalRequested)
            {
                break;
            }
        }

        Assert.Equal(HttpStatusCode.OK, (await api.DecideAsync(id, pending.ApprovalId, "approve")).StatusCode);
        optedInFrames.AddRange(await optedIn.ReadToCloseAsync());
        var documentedFrames = await documented.ReadToCloseAsync();

        Assert.DoesNotContain(documentedFrames, f => f.Type().StartsWith("approval_", StringComparison.Ordinal));
        Assert.Equal(EventTypes.WorkflowComplete, documentedFrames[^1].Type());
        var request = Assert.Single(optedInFrames, f => f.Type() == EventTypes.ApprovalRequested);
        Assert.Equal((pending.ApprovalId, "synthesis"), (request["approval_id"]!.GetValue<string>(), request["kind"]!.GetValue<string>()));
        Assert.NotNull(request["expires_at"]);
        Assert.Equal(3, request["options"]!.AsArray().Count);
        var resolution = Assert.Single(optedInFrames, f => f.Type() == EventTypes.ApprovalResolved);
        Assert.Equal(("approve", "development"), (resolution["decision"]!.GetValue<string>(), resolution["decided_by"]!.GetValue<string>()));
        Assert.Contains(optedInFrames, f => f.Type() == EventTypes.WorkflowStatus && f["status"]?.GetValue<string>() == WorkflowStatuses.AwaitingApproval);
        Assert.Equal(EventTypes.WorkflowComplete, optedInFrames[^1].Type());
    }

    [Fact]
    public async Task SystemHubAnnouncesRequestsAndResolutions()
    {
        await using var app = new FelixApplication();
        using var api = app.CreateApiClient();
        await using var system = app.CreateHubConnection("json", path: HubPaths.System);
        var seen = new List<SystemEvent>();
        var resolved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        system.On<SystemEvent>(nameof(ISystemClient.SystemEvent), e =>
        {
            lock (seen)
            {
                seen.Add(e);
            }

            if (e.Type == SystemEvent.ApprovalResolved)
            {
                resolved.TrySetResult();
            }
        });
        await system.StartAsync().DefaultTimeout();

        var id = await api.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await api.WaitForPendingApprovalAsync(id);
        await api.DecideAsync(id, pending.ApprovalId, "approve");
        await resolved.Task.DefaultTimeout();

        lock (seen)
        {
            var request = Assert.Single(seen, e => e.Type == SystemEvent.ApprovalRequested);
            Assert.Equal((id, pending.ApprovalId), (request.WorkflowId, request.ApprovalId));
        }
    }
}
