using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Storage;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Felix.Tests.Storage;

/// <summary>
/// A process that dies after finishing a workflow's record but before appending its terminal event leaves a stream
/// without an end; the next start appends it, so no subscriber waits forever.
/// </summary>
public sealed class UnterminatedStreamRecoveryTests
{
    [Fact]
    public async Task FinishedWorkflowWithoutATerminalEventGetsOneAtTheNextStart()
    {
        await using var files = new SqliteTestDatabase();
        var settings = StorageTestSettings.SqliteFile(files.Directory);
        const string workflowId = "wf_00c0ffee";
        await using (var first = new FelixApplication(settings))
        {
            // The state such a crash leaves: the record says completed, the stream stops at running.
            var store = first.Services.GetRequiredService<IWorkflowStore>();
            var publisher = first.Services.GetRequiredService<EventPublisher>();
            await store.CreateAsync(new WorkflowRecord
            {
                Id = workflowId,
                Task = "Finished just before the crash",
                MaxSteps = 1,
                Owner = "default",
                Status = WorkflowStatuses.Completed,
                CreatedAt = DateTimeOffset.UtcNow,
                CompletedAt = DateTimeOffset.UtcNow,
                Synthesis = new Synthesis { Content = "The answer", Confidence = 0.9, AgentsSynthesized = 1 },
            });
            await publisher.PublishAsync(new WorkflowStatusEvent { WorkflowId = workflowId, Status = WorkflowStatuses.Pending });
            await publisher.PublishAsync(new WorkflowStatusEvent { WorkflowId = workflowId, Status = WorkflowStatuses.Running });
        }

        await using var second = new FelixApplication(settings);
        using var socket = await second.ConnectRawAsync($"api/v1/ws/workflows/{workflowId}");
        var frames = await socket.ReadToCloseAsync();

        var complete = frames[^1];
        Assert.Equal("workflow_complete", complete.Type());
        Assert.Equal("The answer", complete["synthesis"]!["content"]!.GetValue<string>());
        Assert.Equal(4, complete["sequence"]!.GetValue<long>()); // pending, running, completed, then the terminal event
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    [Fact]
    public async Task AWorkflowCreatedLongBeforeAThousandOthersGetsItsEndAtTheNextStart()
    {
        await using var files = new SqliteTestDatabase();
        var settings = StorageTestSettings.SqliteFile(files.Directory);
        const string workflowId = "wf_0001d1e5";
        await using (var first = new FelixApplication(settings))
        {
            var store = first.Services.GetRequiredService<IWorkflowStore>();
            var publisher = first.Services.GetRequiredService<EventPublisher>();
            await StoreUnendedAfterNewerOnesAsync(store, publisher, workflowId);
        }

        await using var second = new FelixApplication(settings);
        using var api = second.CreateApiClient();
        var events = await api.ReadEventsAsync(workflowId);

        var complete = Assert.IsType<WorkflowCompleteEvent>(events[^1]);
        Assert.Equal("The answer", complete.Synthesis.Content);
        Assert.Single(events, e => e.IsTerminal);
    }

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("InMemory")]
    public async Task RecoveryEndsEveryFinishedStreamWithoutAnEndHoweverOldItIs(string provider)
    {
        await using var files = new SqliteTestDatabase();
        await using var app = new FelixApplication(provider == "Sqlite"
            ? StorageTestSettings.SqliteFile(files.Directory)
            : new Dictionary<string, string?> { ["Felix:Storage:Provider"] = provider });
        var store = app.Services.GetRequiredService<IWorkflowStore>();
        var log = app.Services.GetRequiredService<IEventLog>();
        await StoreUnendedAfterNewerOnesAsync(store, app.Services.GetRequiredService<EventPublisher>(), workflowId: "wf_0001d1e5");

        // What the next start runs (an in-memory store never outlives its process, so it runs here, on the same one).
        var recovery = app.Services.GetServices<IHostedService>().OfType<WorkflowRecovery>().Single();
        await recovery.StartAsync(CancellationToken.None).DefaultTimeout();

        var events = (await log.ReadAsync("wf_0001d1e5", 0, 100).DefaultTimeout()).Events;
        Assert.IsType<WorkflowCompleteEvent>(events[^1]);
        Assert.Single(events, e => e.IsTerminal);
        if (provider == "Sqlite")
        {
            // Every end is written: the next start has nothing to read.
            Assert.Empty(await app.Services.GetRequiredService<IFinishingWorkflows>().ListFinishingAsync().DefaultTimeout());
        }
    }

    [Fact]
    public async Task WorkflowsThatEndLeaveNothingForTheNextStartToRead()
    {
        await using var files = new SqliteTestDatabase();
        await using var app = new FelixApplication(StorageTestSettings.SqliteFile(files.Directory, ("Felix:Llm:OfflineTokenDelay", "00:00:00.020")));
        using var client = app.CreateApiClient();
        var completed = (await client.CreateWorkflowAsync(maxSteps: 1)).WorkflowId;
        var cancelled = (await client.CreateWorkflowAsync(maxSteps: 3)).WorkflowId;
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await client.DeleteAsync($"api/v1/workflows/{cancelled}").DefaultTimeout()).StatusCode);
        Assert.Equal(WorkflowStatuses.Cancelled, (await client.WaitForTerminalAsync(cancelled)).Status);
        Assert.Equal(WorkflowStatuses.Completed, (await client.WaitForTerminalAsync(completed)).Status);

        Assert.Empty(await app.Services.GetRequiredService<IFinishingWorkflows>().ListFinishingAsync().DefaultTimeout());
    }

    /// <summary>
    /// The state a crash leaves: a workflow created days ago and parked at an approval, a thousand newer workflows
    /// created (and finished) since, then the old one decided, run to its end and its record completed, and the process
    /// killed before the terminal event was appended.
    /// </summary>
    private static async Task StoreUnendedAfterNewerOnesAsync(IWorkflowStore store, EventPublisher publisher, string workflowId)
    {
        var now = DateTimeOffset.UtcNow;
        await store.CreateAsync(new WorkflowRecord
        {
            Id = workflowId, Task = "Parked for days", MaxSteps = 1, Owner = "default",
            Status = WorkflowStatuses.AwaitingApproval, CreatedAt = now.AddDays(-5),
        }).DefaultTimeout();
        await publisher.PublishAsync(new WorkflowStatusEvent { WorkflowId = workflowId, Status = WorkflowStatuses.Pending }).DefaultTimeout();
        await publisher.PublishAsync(new WorkflowStatusEvent { WorkflowId = workflowId, Status = WorkflowStatuses.Running }).DefaultTimeout();

        foreach (var chunk in Enumerable.Range(0, NewerWorkflows).Chunk(100))
        {
            await Task.WhenAll(chunk.Select(async i =>
            {
                var id = $"wf_newer_{i:D5}";
                await store.CreateAsync(new WorkflowRecord
                {
                    Id = id, Task = "Created later", MaxSteps = 1, Owner = "default",
                    Status = WorkflowStatuses.Pending, CreatedAt = now.AddDays(-4).AddSeconds(i),
                });
                await publisher.PublishAsync(new WorkflowStatusEvent { WorkflowId = id, Status = WorkflowStatuses.Pending });
                await store.UpdateAsync(id, w => w with { Status = WorkflowStatuses.Cancelled, CompletedAt = w.CreatedAt.AddMinutes(1) });
                await publisher.PublishAsync(new WorkflowStatusEvent { WorkflowId = id, Status = WorkflowStatuses.Cancelled });
            })).DefaultTimeout();
        }

        await store.UpdateAsync(workflowId, w => w with
        {
            Status = WorkflowStatuses.Completed,
            CompletedAt = now,
            Synthesis = new Synthesis { Content = "The answer", Confidence = 0.9, AgentsSynthesized = 1 },
        }).DefaultTimeout();
    }

    private const int NewerWorkflows = 1000;

    [Fact]
    public async Task StreamsThatEndedProperlyAreLeftAlone()
    {
        await using var files = new SqliteTestDatabase();
        var settings = StorageTestSettings.SqliteFile(files.Directory);
        string workflowId;
        long last;
        await using (var first = new FelixApplication(settings))
        {
            using var client = first.CreateApiClient();
            workflowId = (await client.CreateWorkflowAsync(maxSteps: 1)).WorkflowId;
            await client.WaitForTerminalAsync(workflowId);
            last = (await first.Services.GetRequiredService<IEventLog>().GetStateAsync(workflowId))!.Value.LastSequence;
        }

        await using var second = new FelixApplication(settings);
        using var api = second.CreateApiClient();

        var state = await second.Services.GetRequiredService<IEventLog>().GetStateAsync(workflowId);
        Assert.Equal(last, state!.Value.LastSequence);
        Assert.Equal(WorkflowStatuses.Completed, (await api.GetWorkflowAsync(workflowId)).Status);
    }
}
