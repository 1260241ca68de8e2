using Felix.Contracts;
using Felix.Tests.Infrastructure;
using Felix.Tests.Security;

namespace Felix.Tests.Scaleout;

/// <summary>The shared Redis queue takes tenants in turn: one tenant's backlog does not hold back another's first workflow.</summary>
public sealed class ScaleoutFairQueueTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly ScaleoutCluster _cluster = new(redis);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task ATenantsFirstWorkflowRunsBeforeAnotherTenantsBacklog()
    {
        var node = _cluster.StartNode("a", nodeLease: TimeSpan.FromSeconds(15), settings: new Dictionary<string, string?>
        {
            ["Felix:Security:ApiKeys:0:Key"] = TenantApplication.KeyA,
            ["Felix:Security:ApiKeys:0:Tenant"] = "tenant-a",
            ["Felix:Security:ApiKeys:1:Key"] = TenantApplication.KeyB,
            ["Felix:Security:ApiKeys:1:Tenant"] = "tenant-b",
            ["Felix:Workflows:MaxConcurrent"] = "1",
            ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.005",
        });
        using var a = node.CreateApiClient(TenantApplication.KeyA);
        using var b = node.CreateApiClient(TenantApplication.KeyB);
        var backlog = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            backlog.Add((await a.CreateWorkflowAsync($"Backlog {i}", maxSteps: 2)).WorkflowId);
        }

        var mine = await b.CreateWorkflowAsync("My one workflow", maxSteps: 2);

        Assert.Equal(WorkflowStatuses.Completed, (await b.WaitForTerminalAsync(mine.WorkflowId, TimeSpan.FromSeconds(60))).Status);
        var waiting = 0;
        foreach (var id in backlog)
        {
            waiting += (await a.GetWorkflowAsync(id)).Status == WorkflowStatuses.Pending ? 1 : 0;
        }

        Assert.True(waiting >= 4, $"only {waiting} of tenant A's 8 workflows still waited when B's first was done");
        foreach (var id in backlog)
        {
            Assert.Equal(WorkflowStatuses.Completed, (await a.WaitForTerminalAsync(id, TimeSpan.FromSeconds(60))).Status);
        }
    }
}
