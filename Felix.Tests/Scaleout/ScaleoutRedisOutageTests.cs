using System.Net;
using System.Net.Http.Json;
using Felix.Contracts;
using Felix.Server.Scaleout;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc;

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

        await Poll.UntilAsync(async () => (await client.GetAsync("health/ready").DefaultTimeout()).StatusCode == HttpStatusCode.OK,
            "the node to report ready again");
        var after = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        Assert.Equal(WorkflowStatuses.Completed, (await client.WaitForTerminalAsync(after, Poll.DefaultLimit)).Status);
    }
}
