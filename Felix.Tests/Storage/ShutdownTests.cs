using System.Net;
using System.Net.Http.Json;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Storage;

public sealed class ShutdownTests
{
    [Fact]
    public async Task CreateWhileStoppingAnswers503ShuttingDown()
    {
        await using var app = new FelixApplication();
        var client = app.CreateApiClient();
        // The engine stops first thing in a shutdown; the HTTP server still answers requests in flight.
        await app.StopEngineAsync();

        var response = await client.PostAsJsonAsync("api/v1/workflows", new WorkflowRequest { Task = "late", MaxSteps = 1 }, WorkflowApiExtensions.Json).DefaultTimeout();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>().DefaultTimeout();
        Assert.Equal("Server shutting down", problem!.Title);
    }

    [Fact]
    public async Task RunningWorkflowFinishesWithinTheGracePeriod()
    {
        // The run is held, so the shutdown certainly begins while it is still at work.
        var model = new Felix.Tests.Hubs.HeldModel();
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["Felix:Workflows:ShutdownGracePeriod"] = "00:02:00",
        }).WithServices(model.Install);
        var client = app.CreateApiClient();
        var id = (await client.CreateWorkflowAsync(maxSteps: 1)).WorkflowId;
        await client.WaitForStatusAsync(id, WorkflowStatuses.Running);

        var stopping = app.Services.GetRequiredService<WorkflowEngine>().StopAsync(CancellationToken.None);
        var stillRunning = (await client.GetWorkflowAsync(id)).Status;
        var stoppedEarly = stopping.IsCompleted;
        model.Release();
        await stopping.DefaultTimeout(TimeSpan.FromMinutes(1));

        Assert.Equal(WorkflowStatuses.Running, stillRunning);
        Assert.False(stoppedEarly, "the engine stopped before its running workflow finished");
        Assert.Equal(WorkflowStatuses.Completed, (await client.GetWorkflowAsync(id)).Status);
        var events = (await app.Services.GetRequiredService<IEventLog>().ReadAsync(id, 0, 10_000).DefaultTimeout()).Events;
        Assert.Single(events, e => e.IsTerminal);
        Assert.IsType<WorkflowCompleteEvent>(events[^1]);
    }

    [Fact]
    public async Task AfterTheGracePeriodInterruptedAndQueuedWorkflowsResumeAtTheNextStart()
    {
        await using var files = new SqliteTestDatabase();
        var settings = StorageTestSettings.SqliteFile(files.Directory, ("Felix:Workflows:MaxConcurrent", "1"));
        string running, queued;
        await using (var first = new FelixApplication(new Dictionary<string, string?>(settings)
        {
            ["Felix:Llm:OfflineTokenDelay"] = "00:00:01",
            ["Felix:Workflows:ShutdownGracePeriod"] = "00:00:00",
        }))
        {
            var client = first.CreateApiClient();
            running = (await client.CreateWorkflowAsync(maxSteps: 3)).WorkflowId;
            queued = (await client.CreateWorkflowAsync(maxSteps: 3)).WorkflowId;
            await Poll.UntilAsync(async () => (await client.ReadEventsAsync(running)).Any(e => e is AgentOutputDeltaEvent), "the first agent's text");

            await first.Services.GetRequiredService<WorkflowEngine>().StopAsync(CancellationToken.None).DefaultTimeout();

            // Nothing is failed: the stop leaves both where they were, with no end in their streams.
            Assert.Equal(WorkflowStatuses.Running, (await client.GetWorkflowAsync(running)).Status);
            Assert.Equal(WorkflowStatuses.Pending, (await client.GetWorkflowAsync(queued)).Status);
            Assert.DoesNotContain(await client.ReadEventsAsync(running), e => e.IsTerminal);
        }

        await using var second = new FelixApplication(settings);
        var again = second.CreateApiClient();
        foreach (var id in new[] { running, queued })
        {
            var workflow = await again.WaitForTerminalAsync(id, TimeSpan.FromSeconds(60));
            Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
            Assert.Equal(id == running ? 2 : 1, workflow.Attempts);
            DurableHistory.AssertOneRun(await again.ReadEventsAsync(id));
        }
    }
}
