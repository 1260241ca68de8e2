using System.Net;
using System.Net.Http.Json;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Scaleout;
using Felix.Server.Streaming;
using Felix.Tests.Approvals;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Felix.Tests.Scaleout;

/// <summary>
/// A workflow that a node stored, or let go on with a decision, is never left pending or running with nobody to run it
/// when that node fails between its writes: a decision holds the workflow for the deciding node in the same step as the
/// record's update, so a node that dies before queueing it leaves it to the takeover; a node whose push or first event
/// failed (Redis answered with an error) queues it itself once Redis answers. Real redis-server; real server processes
/// where a real fault can be placed, otherwise a state built with the server's own store (said so in the test).
/// </summary>
public sealed class ScaleoutUnqueuedTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("felix-unqueued-").FullName;
    private readonly RedisTestConnections _connections = new(redis);
    private readonly ScaleoutCluster _cluster = new(redis);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _connections.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task ADecisionWhosePushToTheQueueFailedIsQueuedByItsNodeOnceRedisAnswers()
    {
        var prefix = RedisTestConnections.NewPrefix();
        await using var a = await ServerProcess.StartAsync(_directory, NodeSettings(prefix, "a"));
        await using var b = await ServerProcess.StartAsync(_directory, NodeSettings(prefix, "b"));
        using var apiA = new HttpClient { BaseAddress = a.BaseAddress };
        using var apiB = new HttpClient { BaseAddress = b.BaseAddress };
        var id = await apiA.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await apiA.WaitForPendingApprovalAsync(id);
        var connection = _connections.Open(prefix);
        var tenant = (await new RedisWorkflowStore(connection).GetAsync(id))!.Owner;

        // A real Redis error on the decision's push, and only there: the tenant's queue holds a value of the wrong type,
        // so the enqueue script fails (WRONGTYPE) after the decision's update was stored, as a blip between them would.
        await connection.Database.StringSetAsync(connection.Keys.TenantQueue(tenant), "not a list");
        var decided = await apiB.DecideAsync(id, pending.ApprovalId, "approve");
        Assert.Equal(HttpStatusCode.OK, decided.StatusCode);
        Assert.Equal(WorkflowStatuses.Running, (await apiB.GetWorkflowAsync(id)).Status);

        // Redis answers again: node b queues what it holds, and the workflow resumes once, on either node.
        await connection.Database.KeyDeleteAsync(connection.Keys.TenantQueue(tenant));
        var workflow = await apiB.WaitForTerminalShowingOwnerAsync(id, connection, a, b);
        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        AssertOneHistory(await apiB.ReadEventsAsync(id));
        Assert.Contains(b.Output, line => line.Contains($"Workflow {id} (running) went to the shared queue once Redis answered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ADecisionWhoseNodeDiedBeforeQueueingItIsTakenOverAndRuns()
    {
        var prefix = RedisTestConnections.NewPrefix();
        await using var a = await ServerProcess.StartAsync(_directory, NodeSettings(prefix, "a"));
        using var apiA = new HttpClient { BaseAddress = a.BaseAddress };
        var id = await apiA.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await apiA.WaitForPendingApprovalAsync(id);

        // No signal can stop a node between the decision's update and its push, so the state a SIGKILL there leaves is
        // built with the server's own store, under the name of a node that has no lease (it died): the decision's update
        // exactly as ApprovalService writes it, and no push.
        var gone = new RedisConnection(
            Options.Create(new ScaleoutOptions { Configuration = redis.Configuration, KeyPrefix = prefix, NodeName = "gone" }),
            NullLogger<RedisConnection>.Instance);
        try
        {
            Assert.NotNull(await new RedisWorkflowStore(gone).UpdateAsync(id, w =>
            {
                var asked = w.FindApproval(pending.ApprovalId)!;
                var approved = asked with { Decision = ApprovalDecisions.Approve, DecidedBy = "development", DecidedAt = DateTimeOffset.UtcNow };
                return w with
                {
                    Approvals = w.Approvals.Replace(asked, approved),
                    Status = WorkflowStatuses.Running,
                    ApprovalResumes = w.ApprovalResumes + 1,
                };
            }));
        }
        finally
        {
            gone.Dispose();
        }

        var connection = _connections.Open(prefix);
        var workflow = await apiA.WaitForTerminalShowingOwnerAsync(id, connection, a);
        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        AssertOneHistory(await apiA.ReadEventsAsync(id));
        Assert.Contains(a.Output, line => line.Contains($"Workflow {id} (running) of dead node gone went back to the shared queue", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AWorkflowWhosePendingEventFailedRunsOnceRedisAnswers()
    {
        // In-process node on the real redis-server: the fault is the exception StackExchange.Redis throws when the
        // connection drops, raised by the event log for this one append (no Redis-side fault can single out the first
        // append of a workflow whose id is made during the request).
        var failing = new FailingPendingAppend();
        var node = _cluster.StartNode("a", settings: new Dictionary<string, string?> { ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.010" }, services: failing.Install);
        using var api = node.CreateApiClient();

        var response = await api.PostAsJsonAsync("api/v1/workflows", new { task = "Created while Redis blinked", max_steps = 1 }).DefaultTimeout();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var id = await failing.Failed.Task.DefaultTimeout();

        // The client was told 503, yet the workflow is stored: it runs once, with one history that starts pending.
        var workflow = await api.WaitForTerminalAsync(id, TimeSpan.FromSeconds(60));
        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        var events = await api.ReadEventsAsync(id);
        DurableHistory.AssertOneRun(events);
        Assert.Equal(WorkflowStatuses.Pending, Assert.IsType<WorkflowStatusEvent>(events[0]).Status);
        Assert.Single(events, e => e is WorkflowStatusEvent { Status: WorkflowStatuses.Pending });
    }

    private static void AssertOneHistory(IReadOnlyList<WorkflowEvent> events)
    {
        DurableHistoryOfApprovals.AssertNoAgentRanTwice(events);
        Assert.Single(events.Select(e => e.Epoch).Distinct());
        Assert.Single(events, e => e.IsTerminal);
        Assert.Equal(EventTypes.WorkflowComplete, events[^1].Type);
        Assert.Single(events.OfType<ApprovalResolvedEvent>());
    }

    private Dictionary<string, string> NodeSettings(string prefix, string name) =>
        ScaleoutNodeSettings.For(redis, prefix, name, ("Felix:Llm:OfflineTokenDelay", "00:00:00.010"));

    /// <summary>The event log of a node whose first <c>pending</c> append fails as on a dropped connection.</summary>
    private sealed class FailingPendingAppend
    {
        private int _armed = 1;

        public TaskCompletionSource<string> Failed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Install(IServiceCollection services)
        {
            var original = services.Last(d => d.ServiceType == typeof(IEventLog));
            services.Remove(original);
            services.AddSingleton<IEventLog>(sp => new Log((IEventLog)original.ImplementationFactory!(sp), this));
        }

        private sealed class Log(IEventLog inner, FailingPendingAppend fault) : IEventLog
        {
            public ValueTask AppendAsync(WorkflowEvent evt, long fence = 0, CancellationToken cancellationToken = default)
            {
                if (evt is WorkflowStatusEvent { Status: WorkflowStatuses.Pending } && Interlocked.Exchange(ref fault._armed, 0) == 1)
                {
                    fault.Failed.TrySetResult(evt.WorkflowId);
                    throw new RedisConnectionException(ConnectionFailureType.SocketFailure, "The connection to Redis dropped (test)");
                }

                return inner.AppendAsync(evt, fence, cancellationToken);
            }

            public ValueTask<StreamState?> GetStateAsync(string workflowId, CancellationToken cancellationToken = default) =>
                inner.GetStateAsync(workflowId, cancellationToken);

            public ValueTask<HistoryPage> ReadAsync(string workflowId, long afterSequence, int limit, CancellationToken cancellationToken = default) =>
                inner.ReadAsync(workflowId, afterSequence, limit, cancellationToken);
        }
    }
}
