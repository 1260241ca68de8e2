using System.Net;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Workflows;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Approvals;

/// <summary>
/// A workflow that ends while a request waits (cancelled, or failed) withdraws the request in the update that ends it:
/// stored as decided <c>withdrawn</c>, announced with <c>approval_resolved</c> before the terminal status on every
/// transport that shows approvals, and a later decision is told who withdrew it.
/// </summary>
public sealed partial class ApprovalWithdrawalTests
{
    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task CancellingAWaitingWorkflowWithdrawsItsRequestBeforeTheCancelledStatusOnEveryTransport(string protocol)
    {
        await using var app = new FelixApplication();
        using var api = app.CreateApiClient();
        var id = await api.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await api.WaitForPendingApprovalAsync(id);
        await using var hub = app.CreateHubConnection(protocol);
        var recorder = new HubEventRecorder(hub);
        await hub.StartAsync().DefaultTimeout();
        await hub.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), id, null).DefaultTimeout();
        await using var systemHub = app.CreateHubConnection(protocol, path: HubPaths.System);
        var systemEvents = new SystemEventRecorder(systemHub, id);
        await systemHub.StartAsync().DefaultTimeout();
        using var rawSystem = await app.ConnectRawAsync("api/v1/ws/system/events?types=all");
        Assert.Equal("connected", (await rawSystem.ReceiveJsonAsync())!.Type());
        using var documented = await app.ConnectRawAsync($"api/v1/ws/workflows/{id}");
        using var optedIn = await app.ConnectRawAsync($"api/v1/ws/workflows/{id}?types=all");

        var cancel = await api.DeleteAsync($"api/v1/workflows/{id}").DefaultTimeout();
        await recorder.Terminal.DefaultTimeout();
        var optedInFrames = await optedIn.ReadToCloseAsync();
        var documentedFrames = await documented.ReadToCloseAsync();
        var rawSystemFrames = await ReadSystemFramesUntilCancelledAsync(rawSystem, id);
        await systemEvents.Cancelled.DefaultTimeout();
        var late = await api.DecideAsync(id, pending.ApprovalId, "approve");

        Assert.Equal(HttpStatusCode.NoContent, cancel.StatusCode);
        var stored = Assert.Single((await api.ListApprovalsAsync(id)).Approvals);
        Assert.Equal((ApprovalInfo.Resolved, ApprovalDecisions.Withdrawn, "development"), (stored.Status, stored.Decision, stored.DecidedBy));
        Assert.NotNull(stored.DecidedAt);
        // The history, and the hub live: the resolution, then the cancelled status that ends the stream.
        Assert.Equal(
            [(EventTypes.ApprovalResolved, null), (EventTypes.WorkflowStatus, WorkflowStatuses.Cancelled)],
            (await api.ReadEventsAsync(id)).TakeLast(2).Select(e => (e.Type, (e as WorkflowStatusEvent)?.Status)));
        var live = recorder.Events.TakeLast(2).ToList();
        var resolved = Assert.IsType<ApprovalResolvedEvent>(live[0]);
        Assert.Equal((pending.ApprovalId, ApprovalDecisions.Withdrawn, "development"), (resolved.ApprovalId, resolved.Decision, resolved.DecidedBy));
        Assert.Equal(WorkflowStatuses.Cancelled, Assert.IsType<WorkflowStatusEvent>(live[1]).Status);
        Assert.Equal(
            [(EventTypes.ApprovalResolved, ApprovalDecisions.Withdrawn), (EventTypes.WorkflowStatus, WorkflowStatuses.Cancelled)],
            optedInFrames.TakeLast(2).Select(f => (f.Type(), (f["decision"] ?? f["status"])!.GetValue<string>())));
        // The raw endpoint's default output keeps to the documented types: the cancelled status, no approval events.
        Assert.DoesNotContain(documentedFrames, f => f.Type().StartsWith("approval_", StringComparison.Ordinal));
        Assert.Equal((EventTypes.WorkflowStatus, WorkflowStatuses.Cancelled), (documentedFrames[^1].Type(), documentedFrames[^1]["status"]!.GetValue<string>()));
        Assert.Equal(
            [(SystemEvent.ApprovalResolved, pending.ApprovalId), (SystemEvent.WorkflowStatusChanged, null)],
            rawSystemFrames.Select(f => (f.Type(), f["approval_id"]?.GetValue<string>())));
        Assert.Equal([SystemEvent.ApprovalResolved, SystemEvent.WorkflowStatusChanged], systemEvents.Types);
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        var conflict = JsonNode.Parse(await late.Content.ReadAsStringAsync())!;
        Assert.Equal(("Approval already decided", "withdrawn", "development"),
            (conflict["title"]!.GetValue<string>(), conflict["decision"]!.GetValue<string>(), conflict["decided_by"]!.GetValue<string>()));
    }

    [Fact]
    public async Task AWorkflowThatFailsWhileARequestWaitsWithdrawsItAsSystemBeforeItsError()
    {
        await using var app = new FelixApplication();
        using var api = app.CreateApiClient();
        var id = await api.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        await api.WaitForPendingApprovalAsync(id);

        Assert.True(await app.Services.GetRequiredService<WorkflowRunner>().FailAsync(id, "The model went away.").DefaultTimeout());

        var stored = Assert.Single((await api.ListApprovalsAsync(id)).Approvals);
        Assert.Equal((ApprovalInfo.Resolved, ApprovalDecisions.Withdrawn, "system"), (stored.Status, stored.Decision, stored.DecidedBy));
        Assert.Equal(WorkflowStatuses.Failed, (await api.WaitForTerminalAsync(id)).Status);
        Assert.Equal(
            [EventTypes.ApprovalResolved, EventTypes.WorkflowStatus, EventTypes.WorkflowError],
            (await api.ReadEventsAsync(id)).TakeLast(3).Select(e => e.Type));
    }

    private static async Task<List<JsonObject>> ReadSystemFramesUntilCancelledAsync(System.Net.WebSockets.WebSocket socket, string workflowId)
    {
        var frames = new List<JsonObject>();
        while (await socket.ReceiveJsonAsync() is { } frame)
        {
            if (frame["workflow_id"]?.GetValue<string>() != workflowId)
            {
                continue;
            }

            frames.Add(frame);
            if (frame["status"]?.GetValue<string>() == WorkflowStatuses.Cancelled)
            {
                return frames;
            }
        }

        throw new InvalidOperationException("The system stream closed before the workflow's cancelled status.");
    }

    /// <summary>The system hub's events about one workflow, until its cancelled status.</summary>
    private sealed class SystemEventRecorder
    {
        private readonly List<string> _types = [];
        private readonly TaskCompletionSource _cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public SystemEventRecorder(HubConnection connection, string workflowId) =>
            connection.On<SystemEvent>(nameof(ISystemClient.SystemEvent), e =>
            {
                if (e.WorkflowId != workflowId)
                {
                    return;
                }

                lock (_types)
                {
                    _types.Add(e.Type);
                }

                if (e.Status == WorkflowStatuses.Cancelled)
                {
                    _cancelled.TrySetResult();
                }
            });

        public Task Cancelled => _cancelled.Task;

        public IReadOnlyList<string> Types
        {
            get
            {
                lock (_types)
                {
                    return [.. _types];
                }
            }
        }
    }
}
