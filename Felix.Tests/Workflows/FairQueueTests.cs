using System.Net;
using System.Net.Http.Json;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Tests.Infrastructure;
using Felix.Tests.Security;

namespace Felix.Tests.Workflows;

/// <summary>One tenant's backlog never shuts another out: the queue keeps room for newcomers and runs tenants in turn.</summary>
public sealed class FairQueueTests
{
    private const int Capacity = 10;

    [Fact]
    public async Task AFloodingTenantLeavesRoomAndTurnsForAnother()
    {
        await using var app = TenantApplication.Create(new Dictionary<string, string?>
        {
            ["Felix:Workflows:MaxConcurrent"] = "1",
            ["Felix:Workflows:QueueCapacity"] = Capacity.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Slow enough that the flood is still queued when the second tenant arrives.
            ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.010",
        });
        using var a = app.CreateApiClient(TenantApplication.KeyA);
        using var b = app.CreateApiClient(TenantApplication.KeyB);

        var flood = new List<string>();
        var refused = 0;
        for (var i = 0; i < 25; i++)
        {
            var response = await a.PostAsJsonAsync("api/v1/workflows", new { task = $"Flood {i}", max_steps = 2 }).DefaultTimeout();
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                flood.Add((await response.Content.ReadFromJsonAsync<WorkflowResponse>(WorkflowApiExtensions.Json))!.WorkflowId);
            }
            else
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                refused++;
            }
        }

        var mine = await b.CreateWorkflowAsync("My one workflow", maxSteps: 2);
        var done = await b.WaitForTerminalAsync(mine.WorkflowId, TimeSpan.FromSeconds(60));

        Assert.True(refused > 0, "the flood never reached the queue's limit");
        // One running, the rest waiting, less the slot kept for tenants with nothing queued.
        Assert.InRange(flood.Count, Capacity - 1, Capacity);
        Assert.Equal(WorkflowStatuses.Completed, done.Status);
        // In turn, not behind the whole backlog: most of the flood still waits when the newcomer's work is done.
        var stillPending = 0;
        foreach (var id in flood)
        {
            stillPending += (await a.GetWorkflowAsync(id)).Status == WorkflowStatuses.Pending ? 1 : 0;
        }

        Assert.True(stillPending >= Capacity / 2, $"only {stillPending} of tenant A's workflows were still waiting");
    }

    [Fact]
    public async Task ALoneTenantMayFillTheQueueUpToTheReserve()
    {
        await using var app = TenantApplication.Create(new Dictionary<string, string?>
        {
            ["Felix:Workflows:MaxConcurrent"] = "1",
            ["Felix:Workflows:QueueCapacity"] = Capacity.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Felix:Workflows:QueueReserve"] = "3",
            ["Felix:Llm:OfflineTokenDelay"] = "00:00:01",
        });
        using var a = app.CreateApiClient(TenantApplication.KeyA);
        using var b = app.CreateApiClient(TenantApplication.KeyB);
        var first = await a.CreateWorkflowAsync("Keep the engine busy", maxSteps: 2);
        await a.WaitForStatusAsync(first.WorkflowId, WorkflowStatuses.Running);

        var accepted = 0;
        for (var i = 0; i < Capacity; i++)
        {
            var response = await a.PostAsJsonAsync("api/v1/workflows", new { task = $"Queued {i}", max_steps = 2 }).DefaultTimeout();
            accepted += response.StatusCode == HttpStatusCode.Accepted ? 1 : 0;
        }

        var newcomer = await b.PostAsJsonAsync("api/v1/workflows", new { task = "Newcomer", max_steps = 2 }).DefaultTimeout();

        Assert.Equal(Capacity - 3, accepted);
        Assert.Equal(HttpStatusCode.Accepted, newcomer.StatusCode);
    }
}
