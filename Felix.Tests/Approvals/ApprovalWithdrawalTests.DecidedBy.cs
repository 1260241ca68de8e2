using System.Net;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Tests.AgUi;
using Felix.Tests.Infrastructure;
using Felix.Tests.Security;

namespace Felix.Tests.Approvals;

/// <summary>
/// A request withdrawn by a cancel is withdrawn under the name of whoever cancelled, also when the cancel reaches the run
/// in the instant between storing its request and parking (the run then writes the end), and when the cancel is the one
/// an AG-UI run asked for with <c>cancel_on_disconnect</c> (the principal whose run disconnected).
/// </summary>
public sealed partial class ApprovalWithdrawalTests
{
    private const string WatcherKey = "key-tenant-a-watcher-0005";

    [Fact]
    public async Task ACancelBeforeTheRunAnnouncesItsRequestWithdrawsItUnderTheCancellersName()
    {
        var gate = new HeldGateUpdates();
        var joins = new HeldEventLogReads(HeldRead.StreamState);
        await using var app = new FelixApplication().WithServices(gate.Install).WithServices(joins.Install);
        using var api = app.CreateApiClient();
        gate.Arm(HeldGateUpdates.Point.RequestStored);
        var id = await api.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var joining = await HoldTheRunBeforeItsAnnouncementAsync(app, api, id, gate, joins);

        var cancel = api.DeleteAsync($"api/v1/workflows/{id}");
        var frames = await AfterTheWithdrawalAsync(api, id, joins, joining);

        Assert.Equal(HttpStatusCode.NoContent, (await cancel.DefaultTimeout()).StatusCode);
        AssertWithdrawnBy("development", Assert.Single((await api.ListApprovalsAsync(id)).Approvals), frames);
    }

    [Fact]
    public async Task ACancelOnDisconnectWithdrawsTheRequestUnderThePrincipalWhoseRunDisconnected()
    {
        var gate = new HeldGateUpdates();
        var joins = new HeldEventLogReads(HeldRead.StreamState);
        await using var app = TenantApplication.Create(new Dictionary<string, string?>
        {
            ["Felix:Security:ApiKeys:3:Key"] = WatcherKey,
            ["Felix:Security:ApiKeys:3:Tenant"] = "tenant-a",
            ["Felix:Security:ApiKeys:3:Name"] = "watcher",
        }, kestrel: true).WithServices(gate.Install).WithServices(joins.Install);
        using var client = app.CreateApiClient(WatcherKey);
        gate.Arm(HeldGateUpdates.Point.RequestStored);
        string id;
        Task<WebSocket> joining;
        using (var response = await client.PostRunAsync("thread-gone", "run-1", "Explain quantum computing",
            new { max_steps = 1, cancel_on_disconnect = true, approval = new { before_synthesis = true } }))
        {
            await using var events = response.ReadEventsAsync().GetAsyncEnumerator();
            Assert.True(await events.MoveNextAsync());
            id = events.Current.Event["metadata"]!["felix"]!["workflowId"]!.GetValue<string>();
            // An event of the workflow's stream: the run has subscribed, before its turn to publish is held.
            while (events.Current.Id is null)
            {
                Assert.True(await events.MoveNextAsync());
            }

            joining = await HoldTheRunBeforeItsAnnouncementAsync(app, client, id, gate, joins, $"&api_key={WatcherKey}");
        }

        var frames = await AfterTheWithdrawalAsync(client, id, joins, joining);

        Assert.Equal(WorkflowStatuses.Cancelled, (await client.WaitForTerminalAsync(id)).Status);
        AssertWithdrawnBy("api-key:tenant-a:watcher", Assert.Single((await client.ListApprovalsAsync(id)).Approvals), frames);
    }

    /// <summary>
    /// With the run held just after it stored its request: a subscriber joins the workflow and holds its turn to publish
    /// (its read of the stream's state is held), then the run goes on to announce the request and waits for that turn.
    /// Returns the subscriber's socket, open once the join is let go.
    /// </summary>
    internal static async Task<Task<WebSocket>> HoldTheRunBeforeItsAnnouncementAsync(
        FelixApplication app, HttpClient api, string id, HeldGateUpdates gate, HeldEventLogReads joins, string credential = "")
    {
        await gate.Entered.DefaultTimeout();
        Assert.Equal(ApprovalInfo.Pending, Assert.Single((await api.ListApprovalsAsync(id)).Approvals).Status);
        joins.Arm(id);
        var joining = app.ConnectRawAsync($"api/v1/ws/workflows/{id}?types=all{credential}");
        await joins.Entered.DefaultTimeout();
        gate.Release();
        return joining;
    }

    /// <summary>Waits for the cancel to withdraw the request, lets the held join go, and reads what its socket was sent.</summary>
    internal static async Task<List<JsonObject>> AfterTheWithdrawalAsync(HttpClient api, string id, HeldEventLogReads joins, Task<WebSocket> joining)
    {
        await Poll.UntilAsync(async () => (await api.ListApprovalsAsync(id)).Approvals is [{ Status: ApprovalInfo.Resolved }], "the request to be withdrawn");
        joins.Release();
        using var socket = await joining.DefaultTimeout();
        return await socket.ReadToCloseAsync();
    }

    /// <summary>The stored request and the stream's last two events: the resolution under <paramref name="name"/>, then the end.</summary>
    internal static void AssertWithdrawnBy(string name, ApprovalInfo stored, List<JsonObject> frames)
    {
        Assert.Equal((ApprovalInfo.Resolved, ApprovalDecisions.Withdrawn, name), (stored.Status, stored.Decision, stored.DecidedBy));
        Assert.Equal(
            [(EventTypes.ApprovalResolved, ApprovalDecisions.Withdrawn, name), (EventTypes.WorkflowStatus, WorkflowStatuses.Cancelled, null)],
            frames.TakeLast(2).Select(f => (f.Type(), (f["decision"] ?? f["status"])!.GetValue<string>(), f["decided_by"]?.GetValue<string>())));
    }
}
