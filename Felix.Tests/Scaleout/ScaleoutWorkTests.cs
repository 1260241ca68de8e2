using System.Net;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Scaleout;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Scaleout;

/// <summary>Work shared between nodes: any node runs it, any node cancels it, a dead node's work does not hang.</summary>
public sealed class ScaleoutWorkTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly ScaleoutCluster _cluster = new(redis);
    private readonly HeldModel _held = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _held.Release();
        await _cluster.DisposeAsync();
    }

    /// <summary>Node A alone takes a workflow and holds it running; node B starts afterwards.</summary>
    private async Task<(FelixApplication A, FelixApplication B, string WorkflowId)> RunningOnAAsync()
    {
        var a = _cluster.StartNode("a", _held);
        using var client = a.CreateApiClient();
        var workflowId = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForStatusAsync(workflowId, WorkflowStatuses.Running);
        return (a, _cluster.StartNode("b"), workflowId);
    }

    [Fact]
    public async Task WorkflowsCreatedOnOneNodeCompleteAndReadTheSameFromEveryNode()
    {
        // Not about losing a node: with the one-second lease of the other tests, a node starved of CPU by the rest of the
        // suite for a second was taken for dead and its running work failed (seen twice in full-suite runs).
        var a = _cluster.StartNode("a", nodeLease: TimeSpan.FromSeconds(15));
        var b = _cluster.StartNode("b", nodeLease: TimeSpan.FromSeconds(15));
        using var clientA = a.CreateApiClient();
        using var clientB = b.CreateApiClient();

        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add((await clientB.CreateWorkflowAsync(maxSteps: 2)).WorkflowId);
        }

        // Six runs queued on two nodes while the rest of the suite shares the two cores: a run may wait behind others for
        // longer than the default 15 s, so the budget is for all of them. A lost run still never completes.
        foreach (var id in ids)
        {
            Assert.Equal(WorkflowStatuses.Completed, (await clientA.WaitForTerminalAsync(id, TimeSpan.FromSeconds(60))).Status);
            Assert.Equal(WorkflowStatuses.Completed, (await clientB.GetWorkflowAsync(id)).Status);
        }
    }

    [Fact]
    public async Task CancelOnAnotherNodeStopsTheRunOnItsNode()
    {
        var (a, b, workflowId) = await RunningOnAAsync();
        using var clientB = b.CreateApiClient();

        var response = await clientB.DeleteAsync($"api/v1/workflows/{workflowId}").DefaultTimeout();

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(WorkflowStatuses.Cancelled, (await clientB.GetWorkflowAsync(workflowId)).Status);
        using var clientA = a.CreateApiClient();
        var (_, sequences) = await clientA.ReadHistoryAsync(workflowId);
        Assert.Equal(ScaleoutClientExtensions.OneTo(sequences.Count), sequences);
        Assert.Equal(0, a.Services.GetRequiredService<Felix.Server.Workflows.WorkflowEngine>().ActiveCount);
    }

    [Fact]
    public async Task RunningWorkflowOfANodeThatStoppedResumesOnAnotherNodeAndCompletes()
    {
        var (a, b, workflowId) = await RunningOnAAsync();
        await using var connection = b.CreateHubConnection("json");
        await connection.StartAsync().DefaultTimeout();
        var events = new List<WorkflowEvent>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stream = connection.StreamAsync<WorkflowEvent>(nameof(IWorkflowHub.StreamEvents), workflowId, (long?)null, (string[]?)null)
            .WithCancellation(timeout.Token).GetAsyncEnumerator();
        Assert.True(await stream.MoveNextAsync());
        events.Add(stream.Current);

        // Node A drops off Redis for good: no more lease renewals, no more writes, as if its process had died.
        a.Services.GetRequiredService<RedisConnection>().Multiplexer.Dispose();

        while (await stream.MoveNextAsync())
        {
            events.Add(stream.Current);
        }

        // B took the run over within the lease and resumed it from its history: one history, completed.
        Assert.IsType<WorkflowCompleteEvent>(events[^1]);
        Assert.Equal(ScaleoutClientExtensions.OneTo(events.Count), events.Select(e => e.Sequence));
        Felix.Tests.Storage.DurableHistory.AssertOneRun(events);
        using var clientB = b.CreateApiClient();
        var workflow = await clientB.GetWorkflowAsync(workflowId);
        Assert.Equal((WorkflowStatuses.Completed, 2), (workflow.Status, workflow.Attempts));
    }

    [Fact]
    public async Task AWorkflowCancelledWhileItsNodeIsGoneStaysCancelled()
    {
        // A's lease outlasts the cancel's wait, so the cancel comes first; then the lease expires and B sweeps.
        // (Renewed every third of it, the lease can end two thirds of it after A drops off: 4 s, with B's DELETE taking
        // its second of cancel wait and more on a loaded machine.)
        var a = _cluster.StartNode("a", _held, nodeLease: TimeSpan.FromSeconds(6));
        using var clientA = a.CreateApiClient();
        var workflowId = (await clientA.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await clientA.WaitForStatusAsync(workflowId, WorkflowStatuses.Running);
        var b = _cluster.StartNode("b", settings: new Dictionary<string, string?> { ["Felix:Workflows:CancelWait"] = "00:00:01" });
        using var clientB = b.CreateApiClient();
        // B answers once before the clock starts: its first request's start-up is not part of the cancel's time.
        Assert.Equal(WorkflowStatuses.Running, (await clientB.GetWorkflowAsync(workflowId)).Status);

        // Node A drops off Redis for good, holding the run; nobody is there to stop it.
        a.Services.GetRequiredService<RedisConnection>().Multiplexer.Dispose();
        var response = await clientB.DeleteAsync($"api/v1/workflows/{workflowId}").DefaultTimeout();

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        // Well past A's lease: B's sweep has seen A dead, and must not have resumed a cancelled workflow.
        await Task.Delay(TimeSpan.FromSeconds(8));
        var workflow = await clientB.GetWorkflowAsync(workflowId);
        Assert.Equal((WorkflowStatuses.Cancelled, 1), (workflow.Status, workflow.Attempts));
        var history = await clientB.ReadEventsAsync(workflowId);
        Assert.Equal(WorkflowStatuses.Cancelled, Assert.IsType<WorkflowStatusEvent>(history[^1]).Status);
        Assert.Single(history, e => e.IsTerminal);
    }
}
