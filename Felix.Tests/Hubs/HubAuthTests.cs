using System.Net;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Hubs;

/// <summary>The hubs take the same key as REST, as <c>access_token</c> or a bearer header, and refuse others at negotiate.</summary>
public sealed class HubAuthTests
{
    private const string Key = "test-key-5f1c";

    public static TheoryData<string, HttpTransportType, string> PathsProtocolsAndTransports()
    {
        var data = new TheoryData<string, HttpTransportType, string>();
        foreach (var path in new[] { HubPaths.Workflows, HubPaths.System })
        {
            foreach (var row in WorkflowHubTests.ProtocolsAndTransports)
            {
                data.Add((string)row[0], (HttpTransportType)row[1], path);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PathsProtocolsAndTransports))]
    public async Task WrongKeyFailsAtNegotiateWith401(string protocol, HttpTransportType transport, string path)
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key });
        await using var connection = app.CreateHubConnection(protocol, transport, path, key: "not-the-key");

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => connection.StartAsync().DefaultTimeout());

        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
    }

    [Theory]
    [MemberData(nameof(WorkflowHubTests.ProtocolsAndTransports), MemberType = typeof(WorkflowHubTests))]
    public async Task RightKeyConnectsAndSubscribes(string protocol, HttpTransportType transport)
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key });
        var workflow = await app.CreateApiClient().CreateWorkflowAsync();
        await using var connection = app.CreateHubConnection(protocol, transport);
        await connection.StartAsync().DefaultTimeout();

        var subscription = await connection.InvokeAsync<WorkflowSubscription>(
            nameof(IWorkflowHub.Subscribe), workflow.WorkflowId, null).DefaultTimeout();

        Assert.Equal(workflow.WorkflowId, subscription.Workflow.WorkflowId);
    }
}
