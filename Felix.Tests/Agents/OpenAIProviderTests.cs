using System.Net;
using System.Net.Http.Json;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Agents;

/// <summary>The whole path to an OpenAI-compatible server: configuration, streaming, usage, faults and cancel.</summary>
public sealed class OpenAIProviderTests
{
    private static FelixApplication Application(FakeOpenAIServer fake, int maxRetries = 2) => new(new Dictionary<string, string?>
    {
        ["Felix:Llm:Provider"] = "OpenAI",
        ["Felix:Llm:Endpoint"] = fake.Endpoint.ToString(),
        ["Felix:Llm:Model"] = "fake-model",
        ["Felix:Llm:MaxRetries"] = maxRetries.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Felix:Llm:DeltaCoalesceWindow"] = "00:00:00",
    });

    [Fact]
    public async Task StreamedDeltasReassembleIntoEachAgentOutputAndUsageAddsUp()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        await using var app = Application(fake);
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Summarise the history of printing", maxSteps: 2);

        var workflow = await client.WaitForTerminalAsync(created.WorkflowId);
        var events = await client.ReadEventsAsync(created.WorkflowId);

        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        var outputs = events.OfType<AgentOutputEvent>().ToList();
        Assert.Equal(2, outputs.Count);
        foreach (var output in outputs)
        {
            var deltas = events.OfType<AgentOutputDeltaEvent>().Where(d => d.AgentId == output.AgentId).ToList();
            Assert.True(deltas.Count > 5, "text arrives word by word");
            Assert.Equal(Enumerable.Range(0, deltas.Count), deltas.Select(d => d.Index));
            Assert.Equal(output.Content, string.Concat(deltas.Select(d => d.Delta)));
            Assert.Equal(FakeOpenAIServer.AgentText, output.Content);
            Assert.Equal(0.84, output.Confidence, 3);
        }

        var completed = events.OfType<AgentCompletedEvent>().ToList();
        Assert.All(completed, c => Assert.Equal(FakeOpenAIServer.PromptTokens, c.PromptTokens));
        Assert.All(completed, c => Assert.Equal(FakeOpenAIServer.TokensOf(FakeOpenAIServer.AgentText), c.CompletionTokens));
        var complete = Assert.IsType<WorkflowCompleteEvent>(events[^1]);
        Assert.Equal("Final answer from the fake model, combining every agent.", complete.Synthesis.Content);
        Assert.Equal(0.91, complete.Synthesis.Confidence, 3);
        Assert.Equal(3, complete.Usage!.LlmCalls);
        Assert.Equal(3 * FakeOpenAIServer.PromptTokens, complete.Usage.PromptTokens);
        Assert.Equal(workflow.PerformanceMetrics!.TotalTokens, complete.Usage.TotalTokens);
        Assert.Equal(3, fake.Requests);
        Assert.All(fake.Bodies, b => Assert.Equal("fake-model", b["model"]!.ToString()));
        Assert.All(fake.Bodies, b => Assert.True(b["stream"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task FailingEndpointFailsTheWorkflowWithAClearErrorAfterRetries()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.FailWith = 500;
        await using var app = Application(fake, maxRetries: 1);
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("This will fail", maxSteps: 2);

        var workflow = await client.WaitForTerminalAsync(created.WorkflowId, TimeSpan.FromSeconds(30));
        var events = await client.ReadEventsAsync(created.WorkflowId);

        Assert.Equal(WorkflowStatuses.Failed, workflow.Status);
        Assert.Null(workflow.Synthesis);
        var error = Assert.IsType<WorkflowErrorEvent>(events[^1]);
        Assert.Equal("The language model endpoint answered HTTP 500.", error.Error);
        Assert.Equal(error.Error, workflow.Error);
        Assert.Equal(2, fake.Requests); // the first attempt and one retry
        Assert.DoesNotContain(events, e => e is WorkflowCompleteEvent);
    }

    [Theory]
    [InlineData("", FakeOpenAIServer.ModelName)] // the base address without /v1
    [InlineData("/v1", "no-such-model")]
    public async Task AnEndpointThatAnswers404FailsTheWorkflowNamingTheSettingsToCheck(string path, string model)
    {
        // "answered HTTP 404" alone did not say that the base address lacks /v1 or that the server has no such model.
        const string key = "sk-felix-404-secret";
        await using var fake = await FakeOpenAIServer.StartAsync();
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["Felix:Llm:Provider"] = "OpenAI",
            ["Felix:Llm:Endpoint"] = fake.Endpoint.GetLeftPart(UriPartial.Authority) + path,
            ["Felix:Llm:Model"] = model,
            ["Felix:Llm:ApiKey"] = key,
        });
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Wrong address", maxSteps: 1);

        var workflow = await client.WaitForTerminalAsync(created.WorkflowId, TimeSpan.FromSeconds(30));
        var events = await client.ReadEventsAsync(created.WorkflowId);

        Assert.Equal(WorkflowStatuses.Failed, workflow.Status);
        Assert.Equal(
            "The language model endpoint answered HTTP 404: check Felix:Llm:Endpoint (the API's base address, which usually ends with /v1) "
            + "and Felix:Llm:Model (a model the server has).",
            workflow.Error);
        Assert.Equal(workflow.Error, Assert.IsType<WorkflowErrorEvent>(events[^1]).Error);
        Assert.DoesNotContain(key, workflow.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreachableEndpointSaysSo()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        var endpoint = fake.Endpoint;
        await fake.DisposeAsync(); // nothing listens there any more
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["Felix:Llm:Provider"] = "OpenAI",
            ["Felix:Llm:Endpoint"] = endpoint.ToString(),
            ["Felix:Llm:MaxRetries"] = "0",
        });
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Nobody home", maxSteps: 1);

        var workflow = await client.WaitForTerminalAsync(created.WorkflowId, TimeSpan.FromSeconds(30));

        Assert.Equal(WorkflowStatuses.Failed, workflow.Status);
        Assert.Equal("The language model endpoint could not be reached.", workflow.Error);
    }

    [Fact]
    public async Task OtherWorkflowsKeepGoingWhenOneFails()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        await using var app = Application(fake, maxRetries: 0);
        using var client = app.CreateApiClient();
        fake.FailWith = 503;
        var failing = await client.CreateWorkflowAsync("Fails", maxSteps: 1);
        var failed = await client.WaitForTerminalAsync(failing.WorkflowId, TimeSpan.FromSeconds(30));
        fake.FailWith = null;

        var next = await client.CreateWorkflowAsync("Works", maxSteps: 1);
        var completed = await client.WaitForTerminalAsync(next.WorkflowId);

        Assert.Equal(WorkflowStatuses.Failed, failed.Status);
        Assert.Equal(WorkflowStatuses.Completed, completed.Status);
    }

    [Fact]
    public async Task CancelStopsTheModelStream()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.WordDelay = TimeSpan.FromMilliseconds(200);
        await using var app = Application(fake);
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Cancel me mid-stream", maxSteps: 3);
        await fake.FirstChunkSent.Task.DefaultTimeout();

        var response = await client.DeleteAsync($"api/v1/workflows/{created.WorkflowId}").DefaultTimeout();

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        await fake.StreamAborted.Task.DefaultTimeout();
        Assert.Equal(WorkflowStatuses.Cancelled, (await client.GetWorkflowAsync(created.WorkflowId)).Status);
        Assert.Equal(1, fake.Requests);
    }
}
