using System.Collections.Immutable;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

/// <summary>What every <see cref="IWorkflowStore"/> backend does; each backend's test class inherits these facts.</summary>
public abstract class WorkflowStoreSpec
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private protected abstract Task<IWorkflowStore> CreateStoreAsync();

    private static WorkflowRecord Workflow(string id, int minute = 0, string status = WorkflowStatuses.Pending, string owner = "") => new()
    {
        Id = id,
        Task = $"task of {id}",
        MaxSteps = 3,
        Owner = owner,
        Status = status,
        CreatedAt = Epoch.AddMinutes(minute),
    };

    [Fact]
    public async Task CreatedWorkflowReadsBackWithEveryField()
    {
        var store = await CreateStoreAsync();
        var workflow = Workflow("wf_1") with
        {
            ParentWorkflowId = "wf_0",
            EnableWebSearch = true,
            Owner = "tenant-a",
            Status = WorkflowStatuses.Completed,
            StartedAt = Epoch.AddSeconds(1),
            CompletedAt = Epoch.AddSeconds(9),
            Agents = ImmutableList.Create(new AgentRecord("agent_1", "research", 0.5, 0.9, 12, 34)),
            Synthesis = new Synthesis { Content = "done", Confidence = 0.8 },
            Usage = new WorkflowUsage { TotalTokens = 46 },
            Error = null,
        };
        await store.CreateAsync(workflow).DefaultTimeout();

        var read = await store.GetAsync("wf_1").DefaultTimeout();

        Assert.NotNull(read);
        Assert.Equal(workflow with { Agents = [], Synthesis = null, Usage = null }, read with { Agents = [], Synthesis = null, Usage = null });
        Assert.Equal(workflow.Agents, read.Agents);
        Assert.Equal(("done", 0.8), (read.Synthesis!.Content, read.Synthesis.Confidence));
        Assert.Equal(46, read.Usage!.TotalTokens);
    }

    [Fact]
    public async Task UnknownWorkflowIsNull()
    {
        var store = await CreateStoreAsync();

        Assert.Null(await store.GetAsync("wf_missing").DefaultTimeout());
        Assert.Null(await store.UpdateAsync("wf_missing", w => w with { Status = WorkflowStatuses.Running }).DefaultTimeout());
    }

    [Fact]
    public async Task CreatingAnExistingIdFails()
    {
        var store = await CreateStoreAsync();
        await store.CreateAsync(Workflow("wf_1")).DefaultTimeout();

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.CreateAsync(Workflow("wf_1")).DefaultTimeout());
    }

    [Fact]
    public async Task UpdateStoresTheResultAndMayDecline()
    {
        var store = await CreateStoreAsync();
        await store.CreateAsync(Workflow("wf_1")).DefaultTimeout();

        var running = await store.UpdateAsync("wf_1", w => w.Status == WorkflowStatuses.Pending ? w with { Status = WorkflowStatuses.Running } : null).DefaultTimeout();
        var declined = await store.UpdateAsync("wf_1", w => w.Status == WorkflowStatuses.Pending ? w with { Status = WorkflowStatuses.Cancelled } : null).DefaultTimeout();

        Assert.Equal(WorkflowStatuses.Running, running!.Status);
        Assert.Null(declined);
        Assert.Equal(WorkflowStatuses.Running, (await store.GetAsync("wf_1").DefaultTimeout())!.Status);
    }

    [Fact]
    public async Task ConcurrentUpdatesOfOneWorkflowAreAtomic()
    {
        var store = await CreateStoreAsync();
        await store.CreateAsync(Workflow("wf_1")).DefaultTimeout();

        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() =>
            store.UpdateAsync("wf_1", w => w with { Agents = w.Agents.Add(new AgentRecord($"agent_{i}", "research", i)) })))).DefaultTimeout();

        var agents = (await store.GetAsync("wf_1").DefaultTimeout())!.Agents;
        Assert.Equal(20, agents.Select(a => a.AgentId).Distinct().Count());
    }

    [Fact]
    public async Task ListIsNewestFirstFilteredAndPaged()
    {
        var store = await CreateStoreAsync();
        await store.CreateAsync(Workflow("wf_1", 1, WorkflowStatuses.Completed, "a")).DefaultTimeout();
        await store.CreateAsync(Workflow("wf_2", 2, WorkflowStatuses.Running, "a")).DefaultTimeout();
        await store.CreateAsync(Workflow("wf_3", 3, WorkflowStatuses.Completed, "b")).DefaultTimeout();
        await store.CreateAsync(Workflow("wf_4", 4, WorkflowStatuses.Completed, "a")).DefaultTimeout();

        var all = await store.ListAsync(null, null, 1, 10).DefaultTimeout();
        var completedOfA = await store.ListAsync(WorkflowStatuses.Completed, "a", 1, 10).DefaultTimeout();
        var secondPage = await store.ListAsync(null, null, 2, 3).DefaultTimeout();

        Assert.Equal(["wf_4", "wf_3", "wf_2", "wf_1"], all.Items.Select(w => w.Id));
        Assert.Equal(4, all.Total);
        Assert.Equal(["wf_4", "wf_1"], completedOfA.Items.Select(w => w.Id));
        Assert.Equal(2, completedOfA.Total);
        Assert.Equal(["wf_1"], secondPage.Items.Select(w => w.Id));
        Assert.Equal(4, secondPage.Total);
    }

    [Fact]
    public async Task AStatusListingFollowsEveryUpdateOverallAndPerTenant()
    {
        var store = await CreateStoreAsync();
        await store.CreateAsync(Workflow("wf_1", 1, WorkflowStatuses.Pending, "a")).DefaultTimeout();
        await store.CreateAsync(Workflow("wf_2", 2, WorkflowStatuses.Pending, "b")).DefaultTimeout();
        await store.CreateAsync(Workflow("wf_3", 3, WorkflowStatuses.Pending, "a")).DefaultTimeout();

        await store.UpdateAsync("wf_1", w => w with { Status = WorkflowStatuses.Running }).DefaultTimeout();
        await store.UpdateAsync("wf_2", w => w with { Status = WorkflowStatuses.Running }).DefaultTimeout();
        await store.UpdateAsync("wf_2", w => w with { Status = WorkflowStatuses.AwaitingApproval }).DefaultTimeout();
        await store.UpdateAsync("wf_1", w => w with { Agents = w.Agents.Add(new AgentRecord("a1", "research", 1)) }).DefaultTimeout();

        Assert.Equal(["wf_3"], (await store.ListAsync(WorkflowStatuses.Pending, null, 1, 10)).Items.Select(w => w.Id));
        Assert.Equal(["wf_1"], (await store.ListAsync(WorkflowStatuses.Running, null, 1, 10)).Items.Select(w => w.Id));
        Assert.Equal(["wf_1"], (await store.ListAsync(WorkflowStatuses.Running, "a", 1, 10)).Items.Select(w => w.Id));
        Assert.Empty((await store.ListAsync(WorkflowStatuses.Running, "b", 1, 10)).Items);
        var waiting = await store.ListAsync(WorkflowStatuses.AwaitingApproval, null, 1, 10);
        Assert.Equal(["wf_2"], waiting.Items.Select(w => w.Id));
        Assert.Equal(1, waiting.Total);
        Assert.Equal(["wf_2"], (await store.ListAsync(WorkflowStatuses.AwaitingApproval, "b", 1, 10)).Items.Select(w => w.Id));
        Assert.Empty((await store.ListAsync(WorkflowStatuses.AwaitingApproval, "a", 1, 10)).Items);
    }

    [Fact]
    public async Task AStatusListingIsNewestFirstAndPagedWithTheStatusTotal()
    {
        var store = await CreateStoreAsync();
        for (var i = 1; i <= 7; i++)
        {
            await store.CreateAsync(Workflow($"wf_{i}", i, i % 2 == 0 ? WorkflowStatuses.Running : WorkflowStatuses.Completed, "a")).DefaultTimeout();
        }

        var first = await store.ListAsync(WorkflowStatuses.Completed, null, 1, 2).DefaultTimeout();
        var second = await store.ListAsync(WorkflowStatuses.Completed, "a", 2, 2).DefaultTimeout();
        var past = await store.ListAsync(WorkflowStatuses.Completed, null, 3, 2).DefaultTimeout();

        Assert.Equal(["wf_7", "wf_5"], first.Items.Select(w => w.Id));
        Assert.Equal(4, first.Total);
        Assert.Equal(["wf_3", "wf_1"], second.Items.Select(w => w.Id));
        Assert.Equal(4, second.Total);
        Assert.Empty(past.Items);
        Assert.Equal(4, past.Total);
    }

    [Theory]
    [InlineData(21_474_838, 100)] // (page - 1) * page size just past int.MaxValue
    [InlineData(int.MaxValue, 2)]
    [InlineData(int.MaxValue, 100)]
    public async Task APageFarPastTheEndIsEmptyHoweverLargeItsNumber(int page, int pageSize)
    {
        var store = await CreateStoreAsync();
        for (var i = 1; i <= 5; i++)
        {
            await store.CreateAsync(Workflow($"wf_{i}", i, WorkflowStatuses.Completed, "a")).DefaultTimeout();
        }

        var all = await store.ListAsync(null, null, page, pageSize).DefaultTimeout();
        var completed = await store.ListAsync(WorkflowStatuses.Completed, "a", page, pageSize).DefaultTimeout();

        Assert.Empty(all.Items);
        Assert.Equal(5, all.Total);
        Assert.Empty(completed.Items);
        Assert.Equal(5, completed.Total);
    }
}
