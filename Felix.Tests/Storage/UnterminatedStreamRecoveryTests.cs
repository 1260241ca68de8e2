using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

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
