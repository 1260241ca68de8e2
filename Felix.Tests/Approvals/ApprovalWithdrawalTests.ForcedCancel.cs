using System.Net;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Approvals;

/// <summary>
/// A cancel that gives up waiting for a slow run ends the workflow itself; the run that reaches its gate afterwards
/// stores and announces no request for the ended workflow, so none is left pending on it.
/// </summary>
public sealed partial class ApprovalWithdrawalTests
{
    [Fact]
    public async Task ARunThatReachesItsGateAfterAForcedCancelStoresAndAnnouncesNoRequest()
    {
        var gate = new HeldGateUpdates();
        // The run is held at its gate until the test lets it go, so the cancel always outwaits CancelWait and ends the
        // workflow itself; a short wait only keeps the test quick.
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Workflows:CancelWait"] = "00:00:00.2" })
            .WithServices(gate.Install);
        using var api = app.CreateApiClient();
        gate.Arm(HeldGateUpdates.Point.Requesting);
        var id = await api.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        await gate.Entered.DefaultTimeout();

        var cancel = await api.DeleteAsync($"api/v1/workflows/{id}").DefaultTimeout();
        gate.Release();
        var engine = app.Services.GetRequiredService<WorkflowEngine>();
        await Poll.UntilAsync(() => Task.FromResult(engine.ActiveCount == 0), "the held run to stop");

        Assert.Equal(HttpStatusCode.NoContent, cancel.StatusCode);
        Assert.Equal(WorkflowStatuses.Cancelled, (await api.GetWorkflowAsync(id)).Status);
        Assert.Empty((await api.ListApprovalsAsync(id)).Approvals);
        var history = await api.ReadEventsAsync(id);
        Assert.DoesNotContain(history, e => e is ApprovalRequestedEvent);
        Assert.Equal(WorkflowStatuses.Cancelled, Assert.IsType<WorkflowStatusEvent>(history[^1]).Status);
    }
}
