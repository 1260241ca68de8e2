using System.Net;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Tests.Approvals;
using Felix.Tests.Infrastructure;
using Felix.Tests.Scaleout;

namespace Felix.Tests.Storage;

/// <summary>
/// A running workflow's history is its checkpoint, so the retention limit must not take from it: a run longer than
/// <c>Felix:Streaming:MaxEventsPerWorkflow</c> resumes (here after each approval, which parks it) with every step it did,
/// and only once it has ended is its history cut to the limit.
/// </summary>
public sealed class RunRetentionTests
{
    private const int Limit = 100;

    internal static readonly Dictionary<string, string?> Settings = new()
    {
        ["Felix:Streaming:MaxEventsPerWorkflow"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        // Every token its own event, so the run writes several times the limit.
        ["Felix:Llm:DeltaCoalesceWindow"] = "00:00:00",
    };

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("InMemory")]
    public async Task ARunLongerThanTheRetentionLimitResumesWithEveryStepAndIsCutOnlyOnceItEnds(string provider)
    {
        await using var app = new FelixApplication(new Dictionary<string, string?>(Settings) { ["Felix:Storage:Provider"] = provider });
        await RunPastTheLimitAsync(app);
    }

    internal static async Task RunPastTheLimitAsync(FelixApplication app)
    {
        using var client = app.CreateApiClient();
        var id = await client.CreateWithApprovalAsync(new { every_agent = true }, maxSteps: 5);

        var approved = 0;
        var longestParked = 0L;
        while (!WorkflowStatuses.IsTerminal((await client.GetWorkflowAsync(id)).Status))
        {
            var pending = await client.WaitForPendingApprovalAsync(id);
            // Parked past the limit, the run's history still reads from its first event.
            var parked = await client.ReadEventsAsync(id);
            Assert.Equal(1, parked[0].Sequence);
            longestParked = Math.Max(longestParked, parked[^1].Sequence);
            Assert.Equal(HttpStatusCode.OK, (await client.DecideAsync(id, pending.ApprovalId, "approve")).StatusCode);
            approved++;
            if (approved == 5)
            {
                await client.WaitForTerminalAsync(id);
            }
        }

        Assert.True(longestParked > Limit, $"the run was parked at {longestParked} events at most, never past the limit");

        var workflow = await client.GetWorkflowAsync(id);
        var approvals = (await client.ListApprovalsAsync(id)).Approvals;
        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        Assert.Equal(5, workflow.AgentsSpawned.Count);
        Assert.Equal(workflow.AgentsSpawned.Count, workflow.AgentsSpawned.Distinct().Count());
        // One approval per agent: a resumed run that forgot a step would run it again and ask again.
        Assert.Equal(workflow.AgentsSpawned.Count, approved);
        Assert.Equal(approved, approvals.Count);
        Assert.Equal(approvals.Count, approvals.Select(a => a.AgentId).Distinct().Count());

        var events = await client.ReadEventsAsync(id);
        Assert.Equal(Limit, events.Count);
        Assert.Equal(EventTypes.WorkflowComplete, events[^1].Type);
        Assert.True(events[0].Sequence > Limit, $"the run wrote {events[^1].Sequence} events; the first kept is {events[0].Sequence}");
    }
}

/// <summary>The same on a scale-out node: Redis trims the stream in the script that appends its terminal event.</summary>
public sealed class RunRetentionRedisTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly ScaleoutCluster _cluster = new(redis);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _cluster.DisposeAsync().AsTask();

    [Fact]
    public async Task ARunLongerThanTheRetentionLimitResumesWithEveryStepAndIsCutOnlyOnceItEnds() =>
        await RunRetentionTests.RunPastTheLimitAsync(_cluster.StartNode("a", settings: RunRetentionTests.Settings));
}
