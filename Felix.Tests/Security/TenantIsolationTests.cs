using System.Net;
using System.Net.Http.Json;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Security;

public sealed class TenantIsolationTests
{
    [Fact]
    public async Task AnotherTenantCannotSeeOrTouchAWorkflowOnRest()
    {
        await using var app = TenantApplication.Create();
        using var a = app.CreateApiClient(TenantApplication.KeyA);
        using var b = app.CreateApiClient(TenantApplication.KeyB);
        var created = await a.CreateWorkflowAsync("Tenant A's secret plan", maxSteps: 1);
        await a.WaitForTerminalAsync(created.WorkflowId);

        var get = await b.GetAsync($"api/v1/workflows/{created.WorkflowId}").DefaultTimeout();
        var events = await b.GetAsync($"api/v1/workflows/{created.WorkflowId}/events").DefaultTimeout();
        var cancel = await b.DeleteAsync($"api/v1/workflows/{created.WorkflowId}").DefaultTimeout();
        var list = await b.GetFromJsonAsync<WorkflowListResponse>("api/v1/workflows", WorkflowApiExtensions.Json).DefaultTimeout();

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, events.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
        Assert.Equal(0, list!.Total);
        Assert.Equal(WorkflowStatuses.Completed, (await a.GetWorkflowAsync(created.WorkflowId)).Status);
    }

    // parent_workflow_id was stored as given: another tenant's workflow id (or none at all) was accepted and shown back.
    [Fact]
    public async Task AParentWorkflowMustBeOneTheCallerCanSee()
    {
        await using var app = TenantApplication.Create();
        using var a = app.CreateApiClient(TenantApplication.KeyA);
        using var b = app.CreateApiClient(TenantApplication.KeyB);
        var parent = await a.CreateWorkflowAsync("Tenant A's first question", maxSteps: 1);

        var byB = await b.PostAsJsonAsync("api/v1/workflows", new { task = "Follow up", parent_workflow_id = parent.WorkflowId }).DefaultTimeout();
        var missing = await a.PostAsJsonAsync("api/v1/workflows", new { task = "Follow up", parent_workflow_id = "wf_0000000000000000" }).DefaultTimeout();
        var byA = await a.PostAsJsonAsync("api/v1/workflows", new { task = "Follow up", parent_workflow_id = parent.WorkflowId }).DefaultTimeout();

        foreach (var (refused, id) in new[] { (byB, parent.WorkflowId), (missing, "wf_0000000000000000") })
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
            var problem = System.Text.Json.Nodes.JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
            Assert.Equal($"parent_workflow_id names no workflow of yours ('{id}').", problem["errors"]!["parent_workflow_id"]![0]!.GetValue<string>());
        }

        Assert.Equal(HttpStatusCode.Accepted, byA.StatusCode);
        var child = (await byA.Content.ReadFromJsonAsync<WorkflowResponse>(WorkflowApiExtensions.Json))!;
        Assert.Equal(parent.WorkflowId, child.ParentWorkflowId);
        var listOfB = await b.GetFromJsonAsync<WorkflowListResponse>("api/v1/workflows", WorkflowApiExtensions.Json).DefaultTimeout();
        Assert.Equal(0, listOfB!.Total);
    }

    [Fact]
    public async Task ActiveAgentsAndSystemStatusShowATenantOnlyItsOwnWorkAndTheAdminTheNodes()
    {
        var model = new Felix.Tests.Hubs.HeldModel();
        await using var app = TenantApplication.Create().WithServices(model.Install);
        using var a = app.CreateApiClient(TenantApplication.KeyA);
        using var b = app.CreateApiClient(TenantApplication.KeyB);
        using var admin = app.CreateApiClient(TenantApplication.AdminKey);
        var created = await a.CreateWorkflowAsync("Tenant A's secret merger plan", maxSteps: 2);
        await Poll.UntilAsync(async () => await CountAgentsAsync(a) == 1, "tenant A's agent to be at work");

        var agentsSeenByB = await CountAgentsAsync(b);
        var agentsSeenByAdmin = await CountAgentsAsync(admin);
        var ofA = await StatusAsync(a);
        var ofB = await StatusAsync(b);
        var ofAdmin = await StatusAsync(admin);
        model.Release();

        Assert.Equal(0, agentsSeenByB);
        Assert.Equal(1, agentsSeenByAdmin);

        Assert.Equal((1, 0, 1), Counts(ofA));
        Assert.Equal((0, 0, 0), Counts(ofB));
        Assert.Equal((1, 0, 1), Counts(ofAdmin));
        Assert.Empty(ofB["connections"]!.AsObject());
        Assert.Equal(0, ofAdmin["connections"]!["websocket"]!.GetValue<int>());
        await a.WaitForTerminalAsync(created.WorkflowId);

        static (int, int, int) Counts(System.Text.Json.Nodes.JsonNode status) => (
            status["active_workflows"]!.GetValue<int>(), status["queued_workflows"]!.GetValue<int>(), status["active_agents"]!.GetValue<int>());
    }

    private static async Task<System.Text.Json.Nodes.JsonNode> StatusAsync(HttpClient client) =>
        System.Text.Json.Nodes.JsonNode.Parse(await client.GetStringAsync("api/v1/system/status").DefaultTimeout())!;

    private static async Task<int> CountAgentsAsync(HttpClient client) =>
        System.Text.Json.Nodes.JsonNode.Parse(await client.GetStringAsync("api/v1/agents").DefaultTimeout())!["total"]!.GetValue<int>();

    [Fact]
    public async Task OwnerAndAdminSeeTheWorkflow()
    {
        await using var app = TenantApplication.Create();
        using var a = app.CreateApiClient(TenantApplication.KeyA);
        using var admin = app.CreateApiClient(TenantApplication.AdminKey);
        var created = await a.CreateWorkflowAsync("Visible to its owner and the admin", maxSteps: 1);

        var mine = await a.GetFromJsonAsync<WorkflowListResponse>("api/v1/workflows", WorkflowApiExtensions.Json).DefaultTimeout();
        var all = await admin.GetFromJsonAsync<WorkflowListResponse>("api/v1/workflows", WorkflowApiExtensions.Json).DefaultTimeout();

        Assert.Equal([created.WorkflowId], mine!.Workflows.Select(w => w.WorkflowId));
        Assert.Contains(created.WorkflowId, all!.Workflows.Select(w => w.WorkflowId));
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"api/v1/workflows/{created.WorkflowId}").DefaultTimeout()).StatusCode);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task AnotherTenantCannotSubscribeOrStreamOnTheHub(string protocol)
    {
        await using var app = TenantApplication.Create();
        using var a = app.CreateApiClient(TenantApplication.KeyA);
        var created = await a.CreateWorkflowAsync("Hidden from B", maxSteps: 1);
        await using var hub = app.CreateHubConnection(protocol, key: TenantApplication.KeyB);
        await hub.StartAsync().DefaultTimeout();

        var subscribe = await Assert.ThrowsAsync<HubException>(() =>
            hub.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), created.WorkflowId, null).DefaultTimeout());
        var stream = await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in hub.StreamAsync<Felix.Contracts.Events.WorkflowEvent>(nameof(IWorkflowHub.StreamEvents), created.WorkflowId, null, null))
            {
            }
        }).DefaultTimeout();

        Assert.Contains("not found", subscribe.Message, StringComparison.Ordinal);
        Assert.Contains("not found", stream.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnotherTenantIsRefusedOnTheRawStreamAsIfTheWorkflowDidNotExist()
    {
        await using var app = TenantApplication.Create();
        using var a = app.CreateApiClient(TenantApplication.KeyA);
        var created = await a.CreateWorkflowAsync("Hidden from B's socket", maxSteps: 1);

        using var socket = await app.ConnectRawAsync($"api/v1/ws/workflows/{created.WorkflowId}?api_key={TenantApplication.KeyB}");
        var frame = await socket.ReceiveTextAsync();

        Assert.Null(frame);
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        Assert.Equal("Workflow not found", socket.CloseStatusDescription);
    }

    [Fact]
    public async Task OnlyTheAdminScopeOpensTheSystemStreams()
    {
        await using var app = TenantApplication.Create();

        using var tenantSocket = await app.ConnectRawAsync($"api/v1/ws/system/events?api_key={TenantApplication.KeyA}");
        Assert.Null(await tenantSocket.ReceiveTextAsync());
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, tenantSocket.CloseStatus);

        using var adminSocket = await app.ConnectRawAsync($"api/v1/ws/system/events?api_key={TenantApplication.AdminKey}");
        var connected = await adminSocket.ReceiveJsonAsync();
        Assert.Equal("connected", connected!.Type());

        await using var tenantHub = app.CreateHubConnection("json", path: HubPaths.System, key: TenantApplication.KeyA);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => tenantHub.StartAsync().DefaultTimeout());
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);

        await using var adminHub = app.CreateHubConnection("json", path: HubPaths.System, key: TenantApplication.AdminKey);
        await adminHub.StartAsync().DefaultTimeout();
        Assert.Equal(HubConnectionState.Connected, adminHub.State);
    }
}
