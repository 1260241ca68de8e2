using System.Net.WebSockets;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Server.Scaleout;
using Felix.Tests.Approvals;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;
using StackExchange.Redis;

namespace Felix.Tests.Scaleout;

/// <summary>
/// A node SIGKILLed between two of its writes leaves nothing that waits forever: a workflow it stored but had not yet put
/// on the shared queue is taken over and runs; a workflow whose record it finished but whose terminal event it had not
/// appended gets its end from the node that takes over. Real server processes and a real redis-server.
/// </summary>
public sealed class ScaleoutCrashTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("felix-crash-").FullName;
    private readonly RedisTestConnections _connections = new(redis);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _connections.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task WorkflowsANodeStoredButDiedBeforeQueueingRunOnAnotherNode()
    {
        var prefix = RedisTestConnections.NewPrefix();
        await using var a = await ServerProcess.StartAsync(_directory, NodeSettings(prefix, "a"));
        await using var b = await ServerProcess.StartAsync(_directory, NodeSettings(prefix, "b"));
        using var apiA = new HttpClient { BaseAddress = a.BaseAddress };
        using var apiB = new HttpClient { BaseAddress = b.BaseAddress };
        var connection = _connections.Open(prefix);
        var db = connection.Database;

        // Creations in flight on A; A dies the moment the first record is stored, before it could queue them all.
        var posts = Enumerable.Range(0, 10).Select(async i =>
        {
            try
            {
                await apiA.CreateWorkflowAsync($"Created as node a died {i}", maxSteps: 1);
            }
            catch (HttpRequestException)
            {
            }
        }).ToList();
        await Poll.UntilAsync(async () => await db.SortedSetLengthAsync(connection.Keys.WorkflowIndex) > 0, "node a to store a workflow");
        await a.KillAsync();
        await Task.WhenAll(posts).DefaultTimeout();

        var stored = (await db.SortedSetRangeByRankAsync(connection.Keys.WorkflowIndex)).Select(id => id.ToString()).ToList();
        Assert.NotEmpty(stored);
        foreach (var id in stored)
        {
            WorkflowResponse workflow;
            try
            {
                workflow = await apiB.WaitForTerminalAsync(id, TimeSpan.FromSeconds(90));
            }
            catch (TimeoutException ex)
            {
                var now = await apiB.GetWorkflowAsync(id);
                throw new TimeoutException(
                    $"{ex.Message} ({now.Status}; owner entry '{await db.HashGetAsync(connection.Keys.Owners, id)}'); node b's last lines:\n"
                    + string.Join("\n", b.Output.TakeLast(30)), ex);
            }

            Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
            DurableHistory.AssertOneRun(await apiB.ReadEventsAsync(id));
        }
    }

    [Fact]
    public async Task AWorkflowWhoseNodeDiedBetweenFinishingItAndAppendingItsEndIsEndedByTheNodeThatTakesOver()
    {
        var prefix = RedisTestConnections.NewPrefix();
        await using var a = await ServerProcess.StartAsync(_directory, NodeSettings(prefix, "a"));
        using var apiA = new HttpClient { BaseAddress = a.BaseAddress };
        var workflowId = (await apiA.CreateWorkflowAsync("Finished as node a died", maxSteps: 5)).WorkflowId;
        await apiA.WaitForStatusAsync(workflowId, WorkflowStatuses.Running);

        await using var b = await ServerProcess.StartAsync(_directory, NodeSettings(prefix, "b"));
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(
            new Uri(b.BaseAddress.ToString().Replace("http", "ws", StringComparison.Ordinal) + $"api/v1/ws/workflows/{workflowId}?types=all"),
            CancellationToken.None).DefaultTimeout();
        Assert.Equal("connected", (await socket.ReceiveJsonAsync())!.Type());

        // The state a SIGKILL between the two writes of a run's end leaves: the record says completed (written with the
        // server's own store, as node a, while A is frozen mid-run), the stream has no end, and A is gone.
        await a.PauseAsync();
        var store = new RedisWorkflowStore(_connections.Open(prefix, "a"));
        Assert.NotNull(await store.UpdateAsync(workflowId, w => w with
        {
            Status = WorkflowStatuses.Completed,
            CompletedAt = DateTimeOffset.UtcNow,
            Synthesis = new Synthesis { Content = "Finished just before the crash", Confidence = 0.9, AgentsSynthesized = 1 },
        }));
        await a.KillAsync();

        // B's client gets the end and the normal close, not silence.
        var frames = await socket.ReadToCloseAsync(TimeSpan.FromSeconds(60)).DefaultTimeout(TimeSpan.FromSeconds(60));
        Assert.Equal("workflow_complete", frames[^1].Type());
        Assert.Equal("Finished just before the crash", frames[^1]["synthesis"]!["content"]!.GetValue<string>());
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        using var apiB = new HttpClient { BaseAddress = b.BaseAddress };
        var events = await apiB.ReadEventsAsync(workflowId);
        Assert.Single(events.Select(e => e.Epoch).Distinct());
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.Single(events, e => e.IsTerminal);
        Assert.True(events[^1].IsTerminal);
        Assert.Contains(b.Output, line => line.Contains($"Workflow {workflowId} was completed but dead node a had not appended its terminal event", StringComparison.Ordinal));
    }

    // A node that cancels a workflow nobody holds (parked at an approval) and is killed before it appends the end: nothing
    // named it anywhere, so no sweep found it and every client of the workflow waited for ever.
    [Fact]
    public async Task AParkedWorkflowCancelledByANodeThatDiedBeforeAppendingItsEndIsEndedByTheSweep()
    {
        var prefix = RedisTestConnections.NewPrefix();
        await using var a = await ServerProcess.StartAsync(_directory, NodeSettings(prefix, "a"));
        using var apiA = new HttpClient { BaseAddress = a.BaseAddress };
        var workflowId = await apiA.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        await apiA.WaitForStatusAsync(workflowId, WorkflowStatuses.AwaitingApproval);
        using var socket = await ConnectRawAsync(a, workflowId);

        // The state node b leaves when it is killed between the two writes of a cancel: the record says cancelled (written
        // with the server's own store, as node b, which has no lease: it is dead), the stream has no end.
        var store = new RedisWorkflowStore(_connections.Open(prefix, "b"));
        Assert.NotNull(await store.UpdateAsync(workflowId, w => w with { Status = WorkflowStatuses.Cancelled, CompletedAt = DateTimeOffset.UtcNow }));

        await AssertEndedCancelledAsync(socket, apiA, workflowId);
        Assert.Contains(a.Output, line => line.Contains($"Workflow {workflowId} was cancelled but dead node b had not appended its terminal event", StringComparison.Ordinal));
    }

    // A workflow cancelled while it waited on the shared queue, by a node killed before it appended the end: the node that
    // then took it from the queue found it finished and ran nothing, and its clients waited for ever.
    [Fact]
    public async Task AQueuedWorkflowCancelledByANodeThatDiedBeforeAppendingItsEndIsEndedByTheNodeThatTakesIt()
    {
        var prefix = RedisTestConnections.NewPrefix();
        await using var a = await ServerProcess.StartAsync(
            _directory, ScaleoutNodeSettings.For(redis, prefix, "a", ("Felix:Llm:OfflineTokenDelay", "00:00:00.020"), ("Felix:Workflows:MaxConcurrent", "1")));
        using var apiA = new HttpClient { BaseAddress = a.BaseAddress };
        var busy = (await apiA.CreateWorkflowAsync("Keeps node a's one slot", maxSteps: 5)).WorkflowId;
        await apiA.WaitForStatusAsync(busy, WorkflowStatuses.Running);
        var workflowId = (await apiA.CreateWorkflowAsync("Cancelled while it waits", maxSteps: 1)).WorkflowId;
        var connection = _connections.Open(prefix, "a");
        Assert.Contains((RedisValue)workflowId, await connection.Database.ListRangeAsync(connection.Keys.TenantQueue("default")));
        using var socket = await ConnectRawAsync(a, workflowId);

        // The cancel's record write of a node killed before its end (written as node a, whose lease is alive, so only the
        // take can find it).
        var store = new RedisWorkflowStore(connection);
        Assert.NotNull(await store.UpdateAsync(workflowId, w => w with { Status = WorkflowStatuses.Cancelled, CompletedAt = DateTimeOffset.UtcNow }));

        await AssertEndedCancelledAsync(socket, apiA, workflowId);
        Assert.Contains(a.Output, line => line.Contains($"Workflow {workflowId} was cancelled when this node took it", StringComparison.Ordinal));
        Assert.Equal(WorkflowStatuses.Completed, (await apiA.WaitForTerminalAsync(busy)).Status);
    }

    private static async Task<ClientWebSocket> ConnectRawAsync(ServerProcess node, string workflowId)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(
            new Uri(node.BaseAddress.ToString().Replace("http", "ws", StringComparison.Ordinal) + $"api/v1/ws/workflows/{workflowId}?types=all"),
            CancellationToken.None).DefaultTimeout();
        Assert.Equal("connected", (await socket.ReceiveJsonAsync())!.Type());
        return socket;
    }

    private static async Task AssertEndedCancelledAsync(ClientWebSocket socket, HttpClient api, string workflowId)
    {
        var frames = await socket.ReadToCloseAsync(TimeSpan.FromSeconds(60)).DefaultTimeout(TimeSpan.FromSeconds(60));
        Assert.Equal(("workflow_status", "cancelled"), (frames[^1].Type(), frames[^1]["status"]!.GetValue<string>()));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        var events = await api.ReadEventsAsync(workflowId);
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.Single(events, e => e.IsTerminal);
        Assert.True(events[^1].IsTerminal);
    }

    private Dictionary<string, string> NodeSettings(string prefix, string name) =>
        ScaleoutNodeSettings.For(redis, prefix, name, ("Felix:Llm:OfflineTokenDelay", "00:00:00.020"));
}
