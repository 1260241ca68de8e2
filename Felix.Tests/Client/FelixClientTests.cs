using System.Net;
using Felix.Client;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Felix.Tests.Client.ClientTestSupport;

namespace Felix.Tests.Client;

/// <summary>The REST side of <see cref="FelixClient"/> against the real server.</summary>
public sealed partial class FelixClientTests
{
    [Fact]
    public async Task CreateGetAndListReturnTheWorkflow()
    {
        await using var app = CreateServer();
        using var client = CreateClient(app);

        var created = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 2).DefaultTimeout();
        var fetched = await client.GetWorkflowAsync(created.WorkflowId).DefaultTimeout();
        var list = await client.ListWorkflowsAsync(pageSize: 10).DefaultTimeout();

        Assert.StartsWith("wf_", created.WorkflowId, StringComparison.Ordinal);
        Assert.Equal("Explain quantum computing", created.Task);
        Assert.Equal(2, created.MaxSteps);
        Assert.Equal(created.WorkflowId, fetched.WorkflowId);
        Assert.Equal("Explain quantum computing", fetched.Task);
        Assert.Contains(list.Workflows, w => w.WorkflowId == created.WorkflowId);
        Assert.Equal(10, list.PageSize);
    }

    [Fact]
    public async Task CancelStopsARunningWorkflow()
    {
        var model = new HeldModel();
        await using var app = CreateServer().WithServices(model.Install);
        using var client = CreateClient(app);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 2).DefaultTimeout();

        await client.CancelWorkflowAsync(workflow.WorkflowId).DefaultTimeout();

        Assert.Equal(WorkflowStatuses.Cancelled, (await client.GetWorkflowAsync(workflow.WorkflowId).DefaultTimeout()).Status);
        var events = await client.WatchAsync(workflow.WorkflowId).ToListAsync().DefaultTimeout();
        Assert.Equal(WorkflowStatuses.Cancelled, Assert.IsType<WorkflowStatusEvent>(events[^1]).Status);
    }

    [Fact]
    public async Task CancelOfAFinishedWorkflowIsAConflict()
    {
        await using var app = CreateServer();
        using var client = CreateClient(app);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 1).DefaultTimeout();
        await client.WatchAsync(workflow.WorkflowId).ToListAsync().DefaultTimeout();

        var error = await Assert.ThrowsAsync<FelixApiException>(() => client.CancelWorkflowAsync(workflow.WorkflowId)).DefaultTimeout();

        Assert.Equal(HttpStatusCode.Conflict, error.StatusCode);
        Assert.Equal("Workflow already finished", error.Title);
        Assert.Contains("completed", error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownWorkflowIsAFelixApiExceptionWithTheProblemDetails()
    {
        await using var app = CreateServer();
        using var client = CreateClient(app);

        var get = await Assert.ThrowsAsync<FelixApiException>(() => client.GetWorkflowAsync("wf_missing")).DefaultTimeout();
        var cancel = await Assert.ThrowsAsync<FelixApiException>(() => client.CancelWorkflowAsync("wf_missing")).DefaultTimeout();

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal("Workflow not found", get.Title);
        Assert.Equal("There is no workflow 'wf_missing'.", get.Detail);
        Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
    }

    [Fact]
    public async Task InvalidRequestIsAFelixApiExceptionWithTheFieldErrors()
    {
        await using var app = CreateServer();
        using var client = CreateClient(app);

        var error = await Assert.ThrowsAsync<FelixApiException>(
            () => client.CreateWorkflowAsync(new WorkflowRequest { Task = "Explain", MaxSteps = 500 })).DefaultTimeout();

        Assert.Equal(HttpStatusCode.UnprocessableEntity, error.StatusCode);
        Assert.Equal("One or more fields are invalid.", error.Title);
        Assert.Contains("max_steps", error.Errors.Keys);
    }

    [Fact]
    public async Task WrongKeyIsAnAuthenticationFailureOnRestAndOnTheHub()
    {
        await using var app = CreateServer();
        using var trusted = CreateClient(app);
        var workflow = await trusted.CreateWorkflowAsync("Explain quantum computing", maxSteps: 1).DefaultTimeout();
        using var client = CreateClient(app, key: "wrong-key");

        var rest = await Assert.ThrowsAsync<FelixApiException>(() => client.ListWorkflowsAsync()).DefaultTimeout();
        var hub = await Assert.ThrowsAsync<FelixApiException>(
            async () => await client.WatchAsync(workflow.WorkflowId).FirstAsync()).DefaultTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, rest.StatusCode);
        Assert.True(rest.IsAuthenticationFailure);
        Assert.Equal(HttpStatusCode.Unauthorized, hub.StatusCode);
    }

    [Fact]
    public async Task AddFelixClientRegistersATypedClientOverIHttpClientFactory()
    {
        await using var app = CreateServer();
        var services = new ServiceCollection();
        services.AddFelixClient(o => { o.BaseAddress = app.BaseAddress; o.ApiKey = Key; });
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<FelixClient>();
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 1).DefaultTimeout();

        Assert.Equal(workflow.WorkflowId, (await client.GetWorkflowAsync(workflow.WorkflowId).DefaultTimeout()).WorkflowId);
    }
}
