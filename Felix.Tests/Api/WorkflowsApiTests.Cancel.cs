using System.Net;
using System.Net.Http.Json;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Api;

public sealed partial class WorkflowsApiTests
{
    private static FelixApplication SlowApplication(int maxConcurrent = 4, int queueCapacity = 100) => new(new Dictionary<string, string?>
    {
        // Slow enough that a workflow is still running when the test acts on it.
        ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.020",
        ["Felix:Workflows:MaxConcurrent"] = maxConcurrent.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Felix:Workflows:QueueCapacity"] = queueCapacity.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    [Fact]
    public async Task CancelRunningWorkflowStopsItsWork()
    {
        await using var app = SlowApplication();
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("A long task to cancel", maxSteps: 10);
        await WaitForEventAsync(client, created.WorkflowId, EventTypes.AgentSpawned);

        var response = await client.DeleteAsync($"api/v1/workflows/{created.WorkflowId}").DefaultTimeout();

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var workflow = await client.GetWorkflowAsync(created.WorkflowId);
        Assert.Equal(WorkflowStatuses.Cancelled, workflow.Status);
        Assert.Null(workflow.Synthesis);
        // DELETE answers once the run has stopped, so the cancelled status is the stream's last event and stays so.
        var events = await client.ReadEventsAsync(created.WorkflowId);
        var last = Assert.IsType<WorkflowStatusEvent>(events[^1]);
        Assert.Equal(WorkflowStatuses.Cancelled, last.Status);
        Assert.DoesNotContain(events, e => e is WorkflowCompleteEvent or SynthesisStartedEvent);
        Assert.True(events.OfType<AgentSpawnedEvent>().Count() < 10);

        // A run still going would stream tokens every 20 ms: over a second nothing more may be appended.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var later = await client.ReadEventsAsync(created.WorkflowId);
        Assert.Equal(events.Select(e => e.EventId), later.Select(e => e.EventId));
        Assert.Equal(WorkflowStatuses.Cancelled, (await client.GetWorkflowAsync(created.WorkflowId)).Status);
    }

    [Fact]
    public async Task CancelPendingWorkflowMeansItNeverRuns()
    {
        await using var app = SlowApplication(maxConcurrent: 1);
        using var client = app.CreateApiClient();
        var busy = await client.CreateWorkflowAsync("Keep the engine busy", maxSteps: 3);
        var queued = await client.CreateWorkflowAsync("Wait in the queue", maxSteps: 3);

        var response = await client.DeleteAsync($"api/v1/workflows/{queued.WorkflowId}").DefaultTimeout();
        await client.WaitForTerminalAsync(busy.WorkflowId);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var events = await client.ReadEventsAsync(queued.WorkflowId);
        Assert.Equal([WorkflowStatuses.Pending, WorkflowStatuses.Cancelled], events.OfType<WorkflowStatusEvent>().Select(e => e.Status));
        Assert.Equal(2, events.Count);
    }

    [Fact]
    public async Task CancelFinishedWorkflowReturns409()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Done quickly", maxSteps: 1);
        await client.WaitForTerminalAsync(created.WorkflowId);

        var response = await client.DeleteAsync($"api/v1/workflows/{created.WorkflowId}").DefaultTimeout();

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<Microsoft.AspNetCore.Mvc.ProblemDetails>().DefaultTimeout();
        // It names what can still be cancelled, a workflow waiting for approval included.
        Assert.Equal($"Workflow '{created.WorkflowId}' is completed; only a pending, running or awaiting_approval workflow can be cancelled.", problem!.Detail);
    }

    [Fact]
    public async Task CancelUnknownWorkflowReturns404()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();

        var response = await client.DeleteAsync("api/v1/workflows/wf_0000").DefaultTimeout();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task FullQueueAnswers503WithRetryAfter()
    {
        await using var app = SlowApplication(maxConcurrent: 1, queueCapacity: 1);
        using var client = app.CreateApiClient();
        var accepted = 0;
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 4 && refused is null; i++)
        {
            var response = await client.PostAsJsonAsync("api/v1/workflows", new { task = $"Fill the queue {i}", max_steps = 5 }).DefaultTimeout();
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                accepted++;
            }
            else
            {
                refused = response;
            }
        }

        Assert.NotNull(refused);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused!.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
        Assert.InRange(accepted, 1, 2); // one running, one queued at most
    }

    private static Task WaitForEventAsync(HttpClient client, string workflowId, string type) =>
        Poll.UntilAsync(async () => (await client.ReadEventsAsync(workflowId)).Any(e => e.Type == type), $"a {type} event", TestTimeouts.Default);
}
