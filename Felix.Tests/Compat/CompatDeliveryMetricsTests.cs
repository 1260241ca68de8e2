using Felix.Server.Observability;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Compat;

/// <summary><c>felix.events.delivered</c> counts what raw clients were sent, per connection, as its description says.</summary>
[Collection(ProcessWideMetricsCollection.Name)]
public sealed class CompatDeliveryMetricsTests
{
    [Fact]
    public async Task EveryEventSentToARawClientIsCountedAsDeliveredOverWebsocket()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        using var delivered = new InstrumentRecorder(app.Services.GetRequiredService<FelixMetrics>().Meter, "felix.events.delivered");
        var workflow = await client.CreateWorkflowAsync("Count what the raw clients get", maxSteps: 1);
        await client.WaitForTerminalAsync(workflow.WorkflowId);
        var history = await client.ReadEventsAsync(workflow.WorkflowId);

        for (var i = 0; i < 2; i++)
        {
            using var socket = await app.ConnectRawAsync($"api/v1/ws/workflows/{workflow.WorkflowId}?types=all");
            var frames = await socket.ReadToCloseAsync();
            Assert.Equal(history.Count + 2, frames.Count); // connected and the status snapshot first
        }

        Assert.Equal(2 * history.Count, delivered.TotalWith("transport", "websocket"));
    }
}
