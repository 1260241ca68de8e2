using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Hubs;

public sealed partial class WorkflowHubTests
{
    [Theory]
    [MemberData(nameof(ProtocolsAndTransports))]
    public async Task HubSequenceEqualsTheRawWebSocketSequence(string protocol, HttpTransportType transport)
    {
        var model = new HeldModel();
        await using var app = new FelixApplication().WithServices(model.Install);
        var workflow = await app.CreateApiClient().CreateWorkflowAsync();
        using var socket = await app.ConnectRawAsync($"api/v1/ws/workflows/{workflow.WorkflowId}?types=all");
        // The raw endpoint subscribes before it says connected.
        Assert.Equal("connected", (await socket.ReceiveJsonAsync())!.Type());
        var raw = socket.ReadToCloseAsync();
        await using var connection = await StartAsync(app, protocol, transport);
        var recorder = new HubEventRecorder(connection);
        var subscription = await connection.InvokeAsync<WorkflowSubscription>(
            nameof(IWorkflowHub.Subscribe), workflow.WorkflowId, null).DefaultTimeout();
        await using var stream = connection.StreamAsync<WorkflowEvent>(
            nameof(IWorkflowHub.StreamEvents), workflow.WorkflowId, null, null).GetAsyncEnumerator();
        Assert.True(await stream.MoveNextAsync().DefaultTimeout());
        var streamed = new List<WorkflowEvent> { stream.Current };

        model.Release();
        while (await stream.MoveNextAsync().DefaultTimeout())
        {
            streamed.Add(stream.Current);
        }

        await recorder.Terminal.DefaultTimeout();
        var rawEvents = (await raw.DefaultTimeout())
            .Where(f => f["sequence"] is not null)
            .Select(f => (f["sequence"]!.GetValue<long>(), f.Type()))
            .ToList();
        Assert.NotEmpty(rawEvents);
        Assert.Equal(rawEvents, streamed.Select(e => (e.Sequence, e.Type)));
        Assert.Equal(rawEvents, MergeBySequence(subscription.Events, recorder.Events).Select(e => (e.Sequence, e.Type)));
    }
}
