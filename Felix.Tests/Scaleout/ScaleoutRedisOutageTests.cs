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
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

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

    [Fact]
    public async Task ALoopThatPollsRedisLogsAnOutageOnceAsItBeginsAndOnceAsItEndsNotAtEveryBeat()
    {
        var logs = new LogCapture();
        var node = _cluster.StartNode("a", settings: new Dictionary<string, string?>
        {
            ["Felix:Redis:QueuePollInterval"] = "00:00:00.020",
            ["Felix:Approvals:DeadlineCheckInterval"] = "00:00:00.020",
            ["Felix:Redis:NodeLease"] = "00:00:01",
            ["Logging:LogLevel:Felix.Server"] = "Debug",
        }, services: services => services.AddSingleton<ILoggerProvider>(logs));
        using var client = node.CreateApiClient();
        await client.WaitUntilReadyAsync();

        await redis.StopAsync();
        // Several beats of both loops meet the outage. Each wrote a Warning with the exception's stack per beat.
        await Poll.UntilAsync(() => Task.FromResult(logs.Entries.Count(e => e.EventId == 1005) >= 5 && logs.Entries.Count(e => e.EventId == 1007) >= 5
                && logs.Entries.Count(e => e.EventId == 7310) >= 2),
            "the three loops to retry several times");
        await redis.StartAsync();
        await client.WaitUntilReadyAsync();
        await Poll.UntilAsync(() => Task.FromResult(logs.Entries.Any(e => e.EventId == 1006) && logs.Entries.Any(e => e.EventId == 1008)
                && logs.Entries.Any(e => e.EventId == 7311)),
            "the three loops to log that they work again");

        Assert.Single(logs.Entries, e => e.EventId == 7202 && e.Level == LogLevel.Warning && e.Exception is not null);
        Assert.Single(logs.Entries, e => e.EventId == 8302 && e.Level == LogLevel.Warning && e.Exception is not null);
        Assert.All(logs.Entries.Where(e => e.EventId is 1005 or 1007), e =>
        {
            Assert.Equal(LogLevel.Debug, e.Level);
            Assert.Null(e.Exception);
        });
        Assert.Single(logs.Entries, e => e.EventId == 1006 && e.Level == LogLevel.Information);
        Assert.Single(logs.Entries, e => e.EventId == 1008 && e.Level == LogLevel.Information);
        // The lease's renewal: a Warning with the stack every third of a lease before.
        Assert.Single(logs.Entries, e => e.EventId == 7303 && e.Level == LogLevel.Warning && e.Exception is not null);
        Assert.All(logs.Entries.Where(e => e.EventId == 7310), e => Assert.Equal((LogLevel.Debug, null), (e.Level, e.Exception)));
        Assert.Single(logs.Entries, e => e.EventId == 7311 && e.Level == LogLevel.Information);
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
        var reads = new HeldEventLogReads(HeldRead.History);
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

    [Fact]
    public async Task AnEventStreamOfARunLostWithARedisThatCameBackEmptyEndsWithAMessageSayingSo()
    {
        var logs = new LogCapture();
        var node = _cluster.StartNode("a", _held, services: s => s.AddSingleton<ILoggerProvider>(logs));
        using var client = node.CreateApiClient();
        var running = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForFirstAgentAsync(running);
        var stored = (await client.ReadEventsAsync(running)).Count;
        await using var connection = node.CreateHubConnection("json");
        await connection.StartAsync().DefaultTimeout();
        var received = new List<WorkflowEvent>();
        var stream = Task.Run(async () =>
        {
            await foreach (var evt in connection.StreamAsync<WorkflowEvent>(nameof(IWorkflowHub.StreamEvents), running, (long?)null, (string[]?)null))
            {
                lock (received)
                {
                    received.Add(evt);
                }
            }
        });
        // The history is read before Redis stops: the stream then waits for live events.
        await Poll.UntilAsync(() => Task.FromResult(stream.IsCompleted || Count(received) >= stored), "the stream's history");

        await redis.StopAsync();
        _held.Release();
        await Poll.UntilAsync(() => Task.FromResult(logs.Entries.Any(e => e.EventId == 2111)), "the run to pause for storage");
        await redis.StartAsync();

        var lost = await Assert.ThrowsAsync<HubException>(() => stream.DefaultTimeout(TimeSpan.FromSeconds(30)));
        Assert.Contains($"Workflow '{running}' was lost: its record and history were lost with storage.", lost.Message, StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Connected, connection.State);
        Assert.Contains(logs.Entries, e => e.EventId == 2117 && e.Level == LogLevel.Warning);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task AGroupMemberOfARunLostWithARedisThatCameBackEmptyIsToldItWasLost(string protocol)
    {
        var logs = new LogCapture();
        var node = _cluster.StartNode("a", _held, services: s => s.AddSingleton<ILoggerProvider>(logs));
        using var client = node.CreateApiClient();
        var running = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        await client.WaitForFirstAgentAsync(running);
        await using var connection = node.CreateHubConnection(protocol);
        var told = new TaskCompletionSource<WorkflowLostNotice>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.On<WorkflowLostNotice>(nameof(IWorkflowClient.WorkflowLost), notice => told.TrySetResult(notice));
        await connection.StartAsync().DefaultTimeout();
        var subscription = await connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), running, (long?)null).DefaultTimeout();

        await redis.StopAsync();
        _held.Release();
        await Poll.UntilAsync(() => Task.FromResult(logs.Entries.Any(e => e.EventId == 2111)), "the run to pause for storage");
        await redis.StartAsync();

        var notice = await told.Task.DefaultTimeout(TimeSpan.FromSeconds(30));
        Assert.Equal(running, notice.WorkflowId);
        Assert.Equal(subscription.Epoch, notice.Epoch);
        Assert.Equal($"Workflow '{running}' was lost: its record and history were lost with storage.", notice.Message);
        Assert.Equal(HubConnectionState.Connected, connection.State);
        var again = await Assert.ThrowsAsync<HubException>(
            () => connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), running, (long?)null).DefaultTimeout());
        Assert.Contains("not found", again.Message, StringComparison.OrdinalIgnoreCase);
    }

    private static int Count(List<WorkflowEvent> events)
    {
        lock (events)
        {
            return events.Count;
        }
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
