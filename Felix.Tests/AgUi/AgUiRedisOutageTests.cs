using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Api;
using Felix.Tests.Infrastructure;
using Felix.Tests.Scaleout;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Felix.Tests.AgUi;

/// <summary>
/// AG-UI runs while the shared store (a real redis-server) is down: before the stream a 503 problem with
/// <c>Retry-After</c>, after it started a <c>RUN_ERROR</c> that says to retry; runs work again once Redis is back.
/// </summary>
public sealed class AgUiRedisOutageTests(RedisServer redis) : RedisOutageTest(redis), IClassFixture<RedisServer>
{
    private const string Question = "Explain quantum computing";

    [Fact]
    public async Task ARunStartedOrResumedWhileRedisIsDownIsAnswered503StorageUnavailableAndRunsOnceItIsBack()
    {
        var node = StartNode();
        using var client = node.CreateApiClient();
        var (_, lastEventId) = await StartRunAsync(client, "thread-outage");

        await Redis.StopAsync();

        await AssertStorageUnavailableAsync(await client.PostRunAsync("thread-new", "run-1", Question));
        await AssertStorageUnavailableAsync(await client.PostRunAsync("thread-outage", "run-2", Question, lastEventId: lastEventId));
        AssertNoUnhandledError();

        await RestartRedisAsync(client);
        var run = await (await client.PostRunAsync("thread-after", "run-1", Question, new { max_steps = 1 })).ReadAllEventsAsync();
        AgUiProtocolRules.AssertValidRun(run.Select(f => f.Event).ToList());
        Assert.Equal("RUN_FINISHED", AgUiProtocolRules.Type(run[^1].Event));
    }

    [Fact]
    public async Task ARunWhoseHistoryReadMeetsTheOutageAfterItsStreamStartedEndsWithRunErrorAndRunsOnceRedisIsBack()
    {
        var node = StartNode();
        using var client = node.CreateApiClient();
        var (workflowId, _) = await StartRunAsync(client, "thread-outage");
        await client.WaitForFirstAgentAsync(workflowId);

        // The same message again watches its workflow from the start: RUN_STARTED goes out before the history is read.
        Reads.Arm(workflowId);
        var events = new List<JsonObject>();
        using (var response = await client.PostRunAsync("thread-outage", "run-2", Question))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await foreach (var (_, evt) in response.ReadEventsAsync())
            {
                events.Add(evt);
                if (events.Count == 2)
                {
                    await Reads.Entered.DefaultTimeout();
                    await Redis.StopAsync();
                    Reads.Release();
                }
            }
        }

        Assert.Equal(["RUN_STARTED", "STATE_SNAPSHOT", "RUN_ERROR"], events.Select(AgUiProtocolRules.Type));
        AgUiProtocolRules.AssertValidRun(events);
        Assert.Equal("Storage unavailable: retry after 5 seconds.", events[^1]["message"]!.GetValue<string>());
        Assert.Equal("storage_unavailable", events[^1]["code"]!.GetValue<string>());
        AssertNoUnhandledError();
        Assert.Contains(Logs.Entries, e => e.EventId == 8005 && e.Level == LogLevel.Warning && e.Exception is null);

        await RestartRedisAsync(client);
        var run = await (await client.PostRunAsync("thread-after", "run-1", Question, new { max_steps = 1 })).ReadAllEventsAsync();
        Assert.Equal("RUN_FINISHED", AgUiProtocolRules.Type(run[^1].Event));
    }

    [Fact]
    public async Task ARunThatAskedToCancelOnDisconnectWhoseClientGoesAwayWhileRedisIsDownHasItsWorkflowCancelledOnceRedisIsBack()
    {
        var node = StartNode();
        using var client = node.CreateApiClient();
        string workflowId;
        using (var response = await client.PostRunAsync("thread-cancel", "run-1", Question, new { max_steps = 2, cancel_on_disconnect = true }))
        {
            var frames = new List<(string? Id, JsonObject Event)>();
            await foreach (var frame in response.ReadEventsAsync())
            {
                frames.Add(frame);
                if (frame.Id is not null)
                {
                    break; // the workflow now waits on the held model
                }
            }

            workflowId = frames.WorkflowOf();
            // A Redis with persistence: it comes back with the workflow's record and history.
            await Redis.StopAsync(keepData: true);
        } // the client goes away while Redis is down

        // The node saw the client go away: it logs what became of the cancel (the tests log from Warning up).
        await Poll.UntilAsync(
            () => Task.FromResult(Logs.Entries.Any(e => e.Category.StartsWith("Felix.Server.AgUi", StringComparison.Ordinal) || e.Level >= LogLevel.Error)),
            "the node to see the client go away");
        await RestartRedisAsync(client);

        var workflow = await client.WaitForTerminalAsync(workflowId, Poll.DefaultLimit);
        Assert.Equal(WorkflowStatuses.Cancelled, workflow.Status);
        Assert.Equal(WorkflowStatuses.Cancelled, (await client.ReadEventsAsync(workflowId)).OfType<WorkflowStatusEvent>().Last().Status);
        Assert.DoesNotContain(Logs.Entries, e => e.Level >= LogLevel.Error && e.Category.StartsWith("Felix.Server", StringComparison.Ordinal));
        AssertNoUnhandledError();
        Assert.Contains(Logs.Entries, e => e.EventId == 8007 && e.Level == LogLevel.Warning && e.Exception is null);
    }

    [Fact]
    public async Task ACancelOnDisconnectLostToTheOutageReachesARunOnAnotherNodeOnceRedisIsBack()
    {
        var runner = StartNode();
        using var runnerClient = runner.CreateApiClient();
        var (workflowId, _) = await StartRunAsync(runnerClient, "thread-remote"); // node a takes the workflow and waits on the model
        var watcher = Cluster.StartNode("b", Held, services: services => services.AddSingleton<ILoggerProvider>(Logs));
        using var client = watcher.CreateApiClient();
        using (var response = await client.PostRunAsync("thread-remote", "run-2", Question, new { cancel_on_disconnect = true }))
        {
            await foreach (var frame in response.ReadEventsAsync())
            {
                if (frame.Id is not null)
                {
                    break;
                }
            }

            await Redis.StopAsync(keepData: true);
        } // the client of node b goes away while Redis is down

        await Poll.UntilAsync(() => Task.FromResult(Logs.Entries.Any(e => e.EventId == 8007)), "node b to defer the cancel");
        // The model stays held: only the cancel, sent by node b once Redis is back, can end the run on node a.
        await Redis.StartAsync();
        await client.WaitUntilReadyAsync();

        Assert.Equal(WorkflowStatuses.Cancelled, (await client.WaitForTerminalAsync(workflowId, Poll.DefaultLimit)).Status);
        Assert.DoesNotContain(Logs.Entries, e => e.Level >= LogLevel.Error && e.Category.StartsWith("Felix.Server", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARunWhoseWorkflowWasLostWithARedisThatCameBackEmptyEndsWithRunErrorWorkflowLost()
    {
        var node = StartNode();
        using var client = node.CreateApiClient();
        var frames = new List<(string? Id, JsonObject Event)>();
        using var response = await client.PostRunAsync("thread-lost", "run-1", Question, new { max_steps = 2 });
        await using var events = response.ReadEventsAsync().GetAsyncEnumerator();
        while (frames.Count == 0 || frames[^1].Id is null)
        {
            Assert.True(await events.MoveNextAsync());
            frames.Add(events.Current);
        }

        var workflowId = frames.WorkflowOf();
        await client.WaitForFirstAgentAsync(workflowId);
        // The run's frames up to the last stored event: the stream then waits for live events.
        var stored = (await client.ReadEventsAsync(workflowId))[^1].Sequence;
        while (SequenceOf(frames[^1].Id) < stored)
        {
            Assert.True(await events.MoveNextAsync());
            frames.Add(events.Current);
        }

        await Redis.StopAsync();
        Held.Release();
        await Poll.UntilAsync(() => Task.FromResult(Logs.Entries.Any(e => e.EventId == 2111)), "the run to pause for storage");
        await Redis.StartAsync();

        while (await events.MoveNextAsync().AsTask().DefaultTimeout(TimeSpan.FromSeconds(30)))
        {
            frames.Add(events.Current);
        }

        var end = frames[^1].Event;
        Assert.Equal("RUN_ERROR", AgUiProtocolRules.Type(end));
        Assert.Equal("workflow_lost", end["code"]!.GetValue<string>());
        AgUiProtocolRules.AssertValidRun(frames.Select(f => f.Event).ToList());
        AssertNoUnhandledError();
        Assert.Contains(Logs.Entries, e => e.EventId == 8006 && e.Level == LogLevel.Warning);
    }

    /// <summary>The sequence in an AG-UI event id (<c>{epoch}-{sequence}:{index}</c>); 0 for a frame without one.</summary>
    private static long SequenceOf(string? id) =>
        id is null ? 0 : long.Parse(id[(id.LastIndexOf('-') + 1)..id.LastIndexOf(':')], System.Globalization.CultureInfo.InvariantCulture);

    private FelixApplication StartNode() => Cluster.StartNode("a", Held, services: services =>
    {
        Reads.Install(services);
        services.AddSingleton<ILoggerProvider>(Logs);
    });

    /// <summary>Starts a run's workflow and leaves once its first event came (the workflow then waits on the held model).</summary>
    private static async Task<(string WorkflowId, string LastEventId)> StartRunAsync(HttpClient client, string threadId)
    {
        var frames = new List<(string? Id, JsonObject Event)>();
        using var response = await client.PostRunAsync(threadId, "run-1", Question, new { max_steps = 2 });
        await foreach (var frame in response.ReadEventsAsync())
        {
            frames.Add(frame);
            if (frame.Id is not null)
            {
                break;
            }
        }

        return (frames.WorkflowOf(), frames[^1].Id!);
    }

    private static async Task AssertStorageUnavailableAsync(HttpResponseMessage response)
    {
        using (response)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
            var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>().DefaultTimeout();
            Assert.Equal(StorageUnavailableProblem.Title, problem!.Title);
        }
    }

    /// <summary>An expected outage is a warning without a stack, not the host's unhandled-exception error.</summary>
    private void AssertNoUnhandledError() =>
        Assert.DoesNotContain(Logs.Entries, e => e.Level >= LogLevel.Error
            && (e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || e.Category.StartsWith("Felix.Server.AgUi", StringComparison.Ordinal)));
}
