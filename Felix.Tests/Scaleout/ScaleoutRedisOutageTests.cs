using System.Net;
using System.Net.Http.Json;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Hubs;
using Felix.Server.Scaleout;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Scaleout;

/// <summary>Redis goes away mid-run and comes back (empty, as a restarted Redis without persistence does).</summary>
public sealed class ScaleoutRedisOutageTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly ScaleoutCluster _cluster = new(redis);
    private readonly HeldModel _held = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _held.Release();
        await _cluster.DisposeAsync();
        // A test that failed while Redis was down must not leave the next test of this fixture without it.
        if (!redis.IsRunning)
        {
            await redis.StartAsync();
        }
    }

    [Fact]
    public async Task NodeIsNotReadyAndAnswers503WhileRedisIsDownThenRecoversByItself()
    {
        var node = _cluster.StartNode("a", _held);
        using var client = node.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("health/ready").DefaultTimeout()).StatusCode);
        var running = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForStatusAsync(running, WorkflowStatuses.Running);

        await redis.StopAsync();

        await Poll.UntilAsync(async () => (await client.GetAsync("health/ready").DefaultTimeout()).StatusCode == HttpStatusCode.ServiceUnavailable,
            "the node to report not ready");
        var refused = await client.GetAsync("api/v1/workflows").DefaultTimeout();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<ProblemDetails>().DefaultTimeout();
        Assert.Equal(Felix.Server.Api.StorageUnavailableProblem.Title, problem!.Title);
        Assert.NotNull(refused.Headers.RetryAfter);

        await redis.StartAsync();
        _held.Release();

        await client.WaitUntilReadyAsync();
        var after = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        Assert.Equal(WorkflowStatuses.Completed, (await client.WaitForTerminalAsync(after, Poll.DefaultLimit)).Status);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task AHubCallThatNeedsRedisWhileItIsDownIsToldToRetryAndWorksOnceItIsBack(string protocol)
    {
        var node = _cluster.StartNode("a", _held);
        using var client = node.CreateApiClient();
        var running = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForStatusAsync(running, WorkflowStatuses.Running);
        await using var connection = node.CreateHubConnection(protocol);
        await connection.StartAsync().DefaultTimeout();

        await redis.StopAsync();

        // As REST's 503 Storage unavailable, not SignalR's "An unexpected error occurred", so the client knows to retry.
        var refused = await Assert.ThrowsAsync<HubException>(
            () => connection.InvokeAsync<WorkflowSubscription>("Subscribe", running, null).DefaultTimeout(TimeSpan.FromSeconds(60)));
        Assert.Contains("Storage unavailable: retry after 5 seconds.", refused.Message, StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Connected, connection.State);

        await redis.StartAsync();
        _held.Release();
        await client.WaitUntilReadyAsync();
        var after = (await client.CreateWorkflowAsync(maxSteps: 1)).WorkflowId;
        var subscription = await connection.InvokeAsync<WorkflowSubscription>("Subscribe", after, null).DefaultTimeout();
        Assert.Equal(after, subscription.Workflow.WorkflowId);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task AnEventStreamOpenedWhileRedisIsDownEndsWithTheRetryMessageAndStreamsOnceItIsBack(string protocol)
    {
        var node = _cluster.StartNode("a", _held);
        using var client = node.CreateApiClient();
        var running = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForStatusAsync(running, WorkflowStatuses.Running);
        await using var connection = node.CreateHubConnection(protocol);
        await connection.StartAsync().DefaultTimeout();

        await redis.StopAsync();

        var refused = await Assert.ThrowsAsync<HubException>(() => ReadStreamAsync(connection, running));
        Assert.Contains("Storage unavailable: retry after 5 seconds.", refused.Message, StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Connected, connection.State);

        await RestartRedisAsync(client);
        var after = (await client.CreateWorkflowAsync(maxSteps: 1)).WorkflowId;
        Assert.IsType<WorkflowCompleteEvent>((await ReadStreamAsync(connection, after))[^1]);
    }

    [Fact]
    public async Task AnEventStreamWhoseHistoryReadMeetsTheOutageAfterItStartedEndsWithTheRetryMessage()
    {
        var reads = new HeldHistoryReads();
        var node = _cluster.StartNode("a", _held, services: reads.Install);
        using var client = node.CreateApiClient();
        var running = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForFirstAgentAsync(running);
        await using var connection = node.CreateHubConnection("json");
        await connection.StartAsync().DefaultTimeout();

        reads.Arm(running);
        var stream = ReadStreamAsync(connection, running);
        await reads.Entered.DefaultTimeout();
        await redis.StopAsync();
        reads.Release();

        var refused = await Assert.ThrowsAsync<HubException>(() => stream);
        Assert.Contains("Storage unavailable: retry after 5 seconds.", refused.Message, StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Connected, connection.State);

        await RestartRedisAsync(client);
        var after = (await client.CreateWorkflowAsync(maxSteps: 1)).WorkflowId;
        Assert.IsType<WorkflowCompleteEvent>((await ReadStreamAsync(connection, after))[^1]);
    }

    private static async Task<List<WorkflowEvent>> ReadStreamAsync(HubConnection connection, string workflowId)
    {
        var events = new List<WorkflowEvent>();
        using var timeout = new CancellationTokenSource(Poll.DefaultLimit);
        await foreach (var evt in connection.StreamAsync<WorkflowEvent>(nameof(IWorkflowHub.StreamEvents), workflowId, (long?)null, (string[]?)null, timeout.Token))
        {
            events.Add(evt);
        }

        return events;
    }

    private async Task RestartRedisAsync(HttpClient client)
    {
        await redis.StartAsync();
        _held.Release();
        await client.WaitUntilReadyAsync();
    }
}
