using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;
using Felix.Tests.Security;

namespace Felix.Tests.AgUi;

/// <summary>A thread is its tenant's: the same thread and message ids under another key are another workflow.</summary>
public sealed class AgUiTenantTests
{
    [Fact]
    public async Task TheSameThreadUnderAnotherTenantIsAnotherWorkflowThatTheFirstCannotSee()
    {
        await using var app = TenantApplication.Create();
        using var a = app.CreateApiClient(TenantApplication.KeyA);
        using var b = app.CreateApiClient(TenantApplication.KeyB);

        var ofA = (await (await a.PostRunAsync("shared-thread", "run-1", "Explain quantum computing", new { max_steps = 1 })).ReadAllEventsAsync()).WorkflowOf();
        var ofB = (await (await b.PostRunAsync("shared-thread", "run-1", "Explain quantum computing", new { max_steps = 1 })).ReadAllEventsAsync()).WorkflowOf();

        Assert.NotEqual(ofA, ofB);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await b.GetAsync($"api/v1/workflows/{ofA}").DefaultTimeout()).StatusCode);
        Assert.Equal(1, (await b.GetFromJsonAsync<JsonObject>("api/v1/workflows").DefaultTimeout())!["total"]!.GetValue<int>());
        Assert.Equal(1, (await a.GetFromJsonAsync<JsonObject>("api/v1/workflows").DefaultTimeout())!["total"]!.GetValue<int>());
    }
}
