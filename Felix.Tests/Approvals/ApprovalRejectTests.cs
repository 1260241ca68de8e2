using System.Net;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Approvals;

/// <summary>
/// A rejection ends the workflow: its stream goes from <c>awaiting_approval</c> to the resolution and the terminal
/// <c>cancelled</c> status, with no <c>running</c> between, whether the run had parked or not.
/// </summary>
public sealed class ApprovalRejectTests
{
    [Fact]
    public async Task ARejectedParkedWorkflowGoesFromAwaitingApprovalStraightToCancelled()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var id = await client.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await client.WaitForPendingApprovalAsync(id);

        var response = await client.DecideAsync(id, pending.ApprovalId, "reject", "Not this one.");
        var workflow = await client.WaitForTerminalAsync(id);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(WorkflowStatuses.Cancelled, workflow.Status);
        var events = await client.ReadEventsAsync(id);
        Assert.Equal(
            [(EventTypes.WorkflowStatus, WorkflowStatuses.AwaitingApproval), (EventTypes.ApprovalResolved, null), (EventTypes.WorkflowStatus, WorkflowStatuses.Cancelled)],
            AfterTheRequest(events));
        var cancelled = Assert.IsType<WorkflowStatusEvent>(events[^1]);
        Assert.Contains("development", cancelled.Reason);
        Assert.Contains("Not this one.", cancelled.Reason);
        Assert.Equal(cancelled.Reason, workflow.Error);
        // What the run spent before it waited stays with the workflow: its agent and the synthesis it asked about.
        Assert.Equal(2, workflow.PerformanceMetrics!.LlmCalls);
        Assert.Equal(1, workflow.Attempts);
    }

    [Fact]
    public async Task ARejectTakenBeforeTheRunParksEndsItWithoutARunningStatus()
    {
        var held = new HeldGateUpdates();
        await using var app = new FelixApplication().WithServices(held.Install);
        using var client = app.CreateApiClient();
        held.Arm(HeldGateUpdates.Point.Parking);
        var id = await client.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        await held.Entered.DefaultTimeout();
        var pending = Assert.Single((await client.ListApprovalsAsync(id)).Approvals);

        var response = await client.DecideAsync(id, pending.ApprovalId, "reject", "Stop here.");
        held.Release();
        var workflow = await client.WaitForTerminalAsync(id);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(WorkflowStatuses.Cancelled, workflow.Status);
        Assert.Equal(
            [(EventTypes.WorkflowStatus, WorkflowStatuses.AwaitingApproval), (EventTypes.ApprovalResolved, null), (EventTypes.WorkflowStatus, WorkflowStatuses.Cancelled)],
            AfterTheRequest(await client.ReadEventsAsync(id)));
    }

    [Fact]
    public async Task ARejectTakenBeforeTheRunParksThenAStopEndsTheWorkflowAtTheNextStartWithoutARunningStatus()
    {
        // What a crash between the decision and the parking leaves: the record running with its request rejected, the
        // history ending at awaiting_approval. The next start must end it as the run would have, not run it again first.
        await using var files = new SqliteTestDatabase();
        var settings = StorageTestSettings.SqliteFile(files.Directory, ("Felix:Workflows:ShutdownGracePeriod", "00:00:00"));
        var held = new HeldGateUpdates();
        string id;
        await using (var first = new FelixApplication(settings).WithServices(held.Install))
        {
            using var client = first.CreateApiClient();
            held.Arm(HeldGateUpdates.Point.Parking);
            id = await client.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
            await held.Entered.DefaultTimeout();
            var pending = Assert.Single((await client.ListApprovalsAsync(id)).Approvals);
            Assert.Equal(HttpStatusCode.OK, (await client.DecideAsync(id, pending.ApprovalId, "reject", "Stop here.")).StatusCode);

            var engine = first.Services.GetRequiredService<WorkflowEngine>();
            var stopping = engine.StopAsync(CancellationToken.None);
            // The run must see its own token cancelled when the held update gives way, or it takes the cancel for a fault.
            await Poll.UntilAsync(() => Task.FromResult(engine.IsStopRequested(id)), "the engine to interrupt the run");
            held.Abandon();
            await stopping.DefaultTimeout();
            Assert.Equal(WorkflowStatuses.Running, (await client.GetWorkflowAsync(id)).Status);
            Assert.Equal([(EventTypes.WorkflowStatus, WorkflowStatuses.AwaitingApproval)], AfterTheRequest(await client.ReadEventsAsync(id)));
        }

        await using var second = new FelixApplication(settings);
        using var again = second.CreateApiClient();
        var workflow = await again.WaitForTerminalAsync(id);

        Assert.Equal(WorkflowStatuses.Cancelled, workflow.Status);
        Assert.Contains("Stop here.", workflow.Error);
        var events = await again.ReadEventsAsync(id);
        Assert.Equal(
            [(EventTypes.WorkflowStatus, WorkflowStatuses.AwaitingApproval), (EventTypes.ApprovalResolved, null), (EventTypes.WorkflowStatus, WorkflowStatuses.Cancelled)],
            AfterTheRequest(events));
        Assert.Equal(workflow.Error, Assert.IsType<WorkflowStatusEvent>(events[^1]).Reason);
        DurableHistory.AssertOneRun(events);
    }

    /// <summary>The statuses and resolutions after the workflow's (only) <c>approval_requested</c>.</summary>
    private static IEnumerable<(string Type, string? Status)> AfterTheRequest(IReadOnlyList<WorkflowEvent> events) =>
        events.SkipWhile(e => e is not ApprovalRequestedEvent).Skip(1)
            .Where(e => e is WorkflowStatusEvent or ApprovalResolvedEvent)
            .Select(e => (e.Type, (e as WorkflowStatusEvent)?.Status));
}
