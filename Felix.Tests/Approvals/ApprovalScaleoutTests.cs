using System.Net;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using Felix.Tests.Scaleout;

namespace Felix.Tests.Approvals;

/// <summary>Two nodes on one Redis: a workflow that waited on node A is decided through node B and continues there.</summary>
public sealed class ApprovalScaleoutTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly ScaleoutCluster _cluster = new(redis);

    private static readonly Dictionary<string, string?> Settings = new() { ["Felix:Approvals:DeadlineCheckInterval"] = "00:00:00.200" };

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _cluster.DisposeAsync().AsTask();

    [Fact]
    public async Task WaitedOnNodeADecidedThroughNodeBCompletesWithoutRerunningAnAgent()
    {
        var a = _cluster.StartNode("a", settings: Settings);
        using var clientA = a.CreateApiClient();
        var id = await clientA.CreateWithApprovalAsync(new { every_agent = true }, maxSteps: 2);
        var first = await clientA.WaitForPendingApprovalAsync(id);
        var b = _cluster.StartNode("b", settings: Settings);
        using var clientB = b.CreateApiClient();
        await a.DisposeAsync();

        var decided = await clientB.DecideAsync(id, first.ApprovalId, "approve");
        var second = await clientB.WaitForPendingApprovalAsync(id);
        var again = await clientB.DecideAsync(id, first.ApprovalId, "reject");
        await clientB.DecideAsync(id, second.ApprovalId, "approve");
        var workflow = await clientB.WaitForTerminalAsync(id);

        Assert.Equal(HttpStatusCode.OK, decided.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        Assert.NotEqual(first.AgentId, second.AgentId);
        var events = await clientB.ReadEventsAsync(id);
        DurableHistoryOfApprovals.AssertNoAgentRanTwice(events);
        Assert.Equal(2, events.OfType<ApprovalResolvedEvent>().Count());
        Assert.Equal(EventTypes.WorkflowComplete, events[^1].Type);
    }

    [Fact]
    public async Task ACancelTakenByAnotherNodeWithdrawsTheRequestUnderTheCancellersName()
    {
        var gate = new HeldGateUpdates();
        var joins = new HeldEventLogReads(HeldRead.StreamState);
        var b = _cluster.StartNode("b", settings: Settings, services: services =>
        {
            gate.Install(services);
            joins.Install(services);
        });
        using var clientB = b.CreateApiClient();
        gate.Arm(HeldGateUpdates.Point.RequestStored);
        var id = await clientB.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var joining = await ApprovalWithdrawalTests.HoldTheRunBeforeItsAnnouncementAsync(b, clientB, id, gate, joins);
        var a = _cluster.StartNode("a", settings: Settings);
        using var clientA = a.CreateApiClient();

        // Node B runs the workflow: node A takes the cancel, and B's run writes the end.
        var cancel = clientA.DeleteAsync($"api/v1/workflows/{id}");
        var frames = await ApprovalWithdrawalTests.AfterTheWithdrawalAsync(clientA, id, joins, joining);

        Assert.Equal(HttpStatusCode.NoContent, (await cancel.DefaultTimeout()).StatusCode);
        ApprovalWithdrawalTests.AssertWithdrawnBy("development", Assert.Single((await clientA.ListApprovalsAsync(id)).Approvals), frames);
    }

    [Fact]
    public async Task ConcurrentDecisionsThroughBothNodesExactlyOneWins()
    {
        var a = _cluster.StartNode("a", settings: Settings);
        var b = _cluster.StartNode("b", settings: Settings);
        using var clientA = a.CreateApiClient();
        using var clientB = b.CreateApiClient();
        var id = await clientA.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await clientA.WaitForPendingApprovalAsync(id);

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            (i % 2 == 0 ? clientA : clientB).DecideAsync(id, pending.ApprovalId, i % 3 == 0 ? "reject" : "approve")));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        Assert.True(WorkflowStatuses.IsTerminal((await clientB.WaitForTerminalAsync(id)).Status));
        Assert.Single((await clientA.ReadEventsAsync(id)).OfType<ApprovalResolvedEvent>());
    }
}
