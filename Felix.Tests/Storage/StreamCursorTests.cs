using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Server.Storage;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Storage;

/// <summary>
/// The SQLite log keeps a position per stream in memory while the stream is written. A server that runs for weeks
/// finishes a workflow every few seconds; it must not keep one for each of them until retention deletes their rows.
/// </summary>
public sealed class StreamCursorTests
{
    [Fact]
    public async Task FinishedWorkflowsLeaveNoStreamPositionInMemoryWhenTheirHistoryIsReadAgain()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var log = app.Services.GetRequiredService<SqliteEventLog>();
        await using var hub = app.CreateHubConnection("json");
        await hub.StartAsync().DefaultTimeout();

        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var id = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
            await client.WaitForTerminalAsync(id);
            ids.Add(id);
        }

        // Clients come back to finished workflows: REST history, a hub subscription, the workflow itself.
        foreach (var id in ids)
        {
            var events = await client.ReadEventsAsync(id);
            Assert.True(events[^1].IsTerminal, $"{id} ends with {events[^1].Type}");
            var subscription = await hub.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), id, (long?)null).DefaultTimeout();
            Assert.Equal(events.Count, subscription.Events.Count);
            await hub.InvokeAsync(nameof(IWorkflowHub.Unsubscribe), id).DefaultTimeout();
        }

        Assert.Equal(0, log.CursorCount);
    }
}
