using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Hubs;

public sealed class SystemHubTests
{
    [Theory]
    [MemberData(nameof(WorkflowHubTests.ProtocolsAndTransports), MemberType = typeof(WorkflowHubTests))]
    public async Task SystemHubPushesWorkflowCreationAndStatusChanges(string protocol, HttpTransportType transport)
    {
        await using var app = new FelixApplication();
        await using var connection = app.CreateHubConnection(protocol, transport, HubPaths.System);
        var created = new TaskCompletionSource<SystemEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        var completed = new TaskCompletionSource<SystemEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.On<SystemEvent>(nameof(ISystemClient.SystemEvent), e =>
        {
            if (e.Type == SystemEvent.WorkflowCreated)
            {
                created.TrySetResult(e);
            }
            else if (e.Type == SystemEvent.WorkflowStatusChanged && e.Status == WorkflowStatuses.Completed)
            {
                completed.TrySetResult(e);
            }
        });
        await connection.StartAsync().DefaultTimeout();

        var workflow = await app.CreateApiClient().CreateWorkflowAsync();

        Assert.Equal(workflow.WorkflowId, (await created.Task.DefaultTimeout()).WorkflowId);
        Assert.Equal(workflow.WorkflowId, (await completed.Task.DefaultTimeout()).WorkflowId);
    }
}
