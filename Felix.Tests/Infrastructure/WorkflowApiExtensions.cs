using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;

namespace Felix.Tests.Infrastructure;

internal static class WorkflowApiExtensions
{
    public static readonly JsonSerializerOptions Json = FelixSerialization.ConfigureSnakeCase(new JsonSerializerOptions(JsonSerializerDefaults.Web), omitNulls: false);

    public static async Task<WorkflowResponse> CreateWorkflowAsync(this HttpClient client, string task = "Explain quantum computing", int? maxSteps = 3)
    {
        var response = await client.PostAsJsonAsync("api/v1/workflows", new WorkflowRequest { Task = task, MaxSteps = maxSteps }, Json).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<WorkflowResponse>(Json).DefaultTimeout())!;
    }

    public static async Task<WorkflowResponse> GetWorkflowAsync(this HttpClient client, string workflowId) =>
        (await client.GetFromJsonAsync<WorkflowResponse>($"api/v1/workflows/{workflowId}", Json).DefaultTimeout())!;

    /// <summary>Polls (boundedly) until the workflow has <paramref name="status"/>.</summary>
    public static Task WaitForStatusAsync(this HttpClient client, string workflowId, string status) =>
        Poll.UntilAsync(async () => (await client.GetWorkflowAsync(workflowId)).Status == status, $"workflow {workflowId} to be {status}");

    /// <summary>The workflow's history as REST returns it (the first 1,000 events).</summary>
    public static async Task<List<WorkflowEvent>> ReadEventsAsync(this HttpClient client, string workflowId)
    {
        var page = await client.GetFromJsonAsync<EventPage>($"api/v1/workflows/{workflowId}/events?limit=1000", Json).DefaultTimeout();
        return page!.Events.ToList();
    }

    /// <summary>
    /// Polls until the workflow is finished: its status is terminal and its history ends with the terminal event (the
    /// record is finished a moment before that event is published). Short waits, bounded in total.
    /// </summary>
    public static async Task<WorkflowResponse> WaitForTerminalAsync(this HttpClient client, string workflowId, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TestTimeouts.Default);
        while (true)
        {
            var workflow = await client.GetWorkflowAsync(workflowId);
            if (WorkflowStatuses.IsTerminal(workflow.Status) && await EndsWithTerminalEventAsync(client, workflowId))
            {
                return workflow;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Workflow {workflowId} is still {workflow.Status}, or its stream has not ended.");
            }

            await Task.Delay(20);
        }
    }

    private static async Task<bool> EndsWithTerminalEventAsync(HttpClient client, string workflowId)
    {
        var page = await client.GetFromJsonAsync<EventPage>($"api/v1/workflows/{workflowId}/events?limit=1000", Json).DefaultTimeout();
        while (page!.HasMore)
        {
            page = await client.GetFromJsonAsync<EventPage>($"api/v1/workflows/{workflowId}/events?after={page.NextAfter}&limit=1000", Json).DefaultTimeout();
        }

        return page.Events is [.., { IsTerminal: true }];
    }
}
