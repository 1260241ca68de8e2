using System.Net;
using System.Net.Http.Json;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Api;

public sealed partial class WorkflowsApiTests
{
    [Fact]
    public async Task ListIsNewestFirstAndPaged()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await client.CreateWorkflowAsync($"Task number {i}", maxSteps: 1)).WorkflowId);
        }

        var first = await client.GetFromJsonAsync<WorkflowListResponse>("api/v1/workflows?page=1&page_size=2", WorkflowApiExtensions.Json).DefaultTimeout();
        var third = await client.GetFromJsonAsync<WorkflowListResponse>("api/v1/workflows?page=3&page_size=2", WorkflowApiExtensions.Json).DefaultTimeout();

        Assert.Equal(5, first!.Total);
        Assert.Equal(2, first.PageSize);
        Assert.Equal([ids[4], ids[3]], first.Workflows.Select(w => w.WorkflowId));
        Assert.Equal([ids[0]], third!.Workflows.Select(w => w.WorkflowId));
    }

    [Fact]
    public async Task ListFiltersByStatus()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var done = await client.CreateWorkflowAsync("Finish me", maxSteps: 1);
        await client.WaitForTerminalAsync(done.WorkflowId);

        var completed = await client.GetFromJsonAsync<WorkflowListResponse>("api/v1/workflows?status=completed", WorkflowApiExtensions.Json).DefaultTimeout();
        var failed = await client.GetFromJsonAsync<WorkflowListResponse>("api/v1/workflows?status=failed", WorkflowApiExtensions.Json).DefaultTimeout();

        Assert.Contains(done.WorkflowId, completed!.Workflows.Select(w => w.WorkflowId));
        Assert.All(completed.Workflows, w => Assert.Equal(WorkflowStatuses.Completed, w.Status));
        Assert.Empty(failed!.Workflows);
    }

    [Theory]
    [InlineData("status=finished", "status")]
    [InlineData("page=0", "page")]
    [InlineData("page_size=1000", "page_size")]
    public async Task ListWithBadQueryReturns422(string query, string field)
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();

        var response = await client.GetAsync($"api/v1/workflows?{query}").DefaultTimeout();

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains($"\"{field}\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ListWithNonNumericPageReturns400()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();

        var response = await client.GetAsync("api/v1/workflows?page=abc").DefaultTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task EventsEndpointPagesThroughTheWholeHistory()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Page through my events", maxSteps: 2);
        await client.WaitForTerminalAsync(created.WorkflowId);

        var sequences = new List<long>();
        long after = 0;
        var pages = 0;
        while (true)
        {
            var page = await client.GetFromJsonAsync<EventPage>($"api/v1/workflows/{created.WorkflowId}/events?after={after}&limit=7", WorkflowApiExtensions.Json).DefaultTimeout();
            pages++;
            sequences.AddRange(page!.Events.Select(e => e.Sequence));
            after = page.NextAfter;
            Assert.False(page.ReplayedFromStart);
            if (!page.HasMore)
            {
                break;
            }
        }

        Assert.True(pages > 2);
        Assert.Equal(Enumerable.Range(1, sequences.Count).Select(i => (long)i), sequences);
    }

    [Fact]
    public async Task EventsWithABadAfterAndABadLimitNameBothFields()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 1);

        using var response = await client.GetAsync($"api/v1/workflows/{created.WorkflowId}/events?after=-1&limit=0").DefaultTimeout();

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<Microsoft.AspNetCore.Http.HttpValidationProblemDetails>().DefaultTimeout();
        Assert.Equal(["after", "limit"], problem!.Errors.Keys.Order());
        Assert.Equal(["after must be 0 or more."], problem.Errors["after"]);
        Assert.Equal(["limit must be between 1 and 1000."], problem.Errors["limit"]);
    }

    [Fact]
    public async Task EventsFromAnotherEpochAreReplayedFromStartAndFlagged()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Epochs", maxSteps: 1);
        await client.WaitForTerminalAsync(created.WorkflowId);

        var page = await client.GetFromJsonAsync<EventPage>($"api/v1/workflows/{created.WorkflowId}/events?after=5&epoch=deadbeef", WorkflowApiExtensions.Json).DefaultTimeout();

        Assert.True(page!.ReplayedFromStart);
        Assert.Equal(1, page.Events[0].Sequence);
        Assert.NotEqual("deadbeef", page.Epoch);
    }
}
