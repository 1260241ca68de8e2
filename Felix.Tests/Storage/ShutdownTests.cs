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
        await app.Services.GetRequiredService<WorkflowEngine>().StopAsync(CancellationToken.None).DefaultTimeout();

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
    public async Task AfterTheGracePeriodRunningAndQueuedWorkflowsAreInterrupted()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["Felix:Llm:OfflineTokenDelay"] = "00:00:01",
            ["Felix:Workflows:MaxConcurrent"] = "1",
            ["Felix:Workflows:ShutdownGracePeriod"] = "00:00:00",
        });
        var client = app.CreateApiClient();
        var running = (await client.CreateWorkflowAsync(maxSteps: 3)).WorkflowId;
        var queued = (await client.CreateWorkflowAsync(maxSteps: 3)).WorkflowId;
        await client.WaitForStatusAsync(running, WorkflowStatuses.Running);

        await app.Services.GetRequiredService<WorkflowEngine>().StopAsync(CancellationToken.None).DefaultTimeout();

        var log = app.Services.GetRequiredService<IEventLog>();
        foreach (var id in new[] { running, queued })
        {
            var workflow = await client.GetWorkflowAsync(id);
            Assert.Equal((WorkflowStatuses.Failed, WorkflowErrors.Interrupted), (workflow.Status, workflow.Error));
            var events = (await log.ReadAsync(id, 0, 10_000).DefaultTimeout()).Events;
            var error = Assert.IsType<WorkflowErrorEvent>(events[^1]);
            Assert.Equal(WorkflowErrors.Interrupted, error.Error);
        }
    }
}
