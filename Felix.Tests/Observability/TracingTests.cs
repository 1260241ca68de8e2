using System.Collections.Concurrent;
using System.Diagnostics;
using Felix.Contracts;
using Felix.Tests.Agents;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Observability;

/// <summary>A workflow is one trace: its run, a span per agent, and the model calls' GenAI spans under the agents.</summary>
[Collection(ProcessWideMetricsCollection.Name)]
public sealed class TracingTests
{
    private static Dictionary<string, string?> OpenAI(FakeOpenAIServer fake) => new()
    {
        ["Felix:Llm:Provider"] = "OpenAI",
        ["Felix:Llm:Endpoint"] = fake.Endpoint.ToString(),
        ["Felix:Llm:Model"] = "fake-model",
    };

    [Fact]
    public async Task AWorkflowIsOneTraceWithASpanPerAgentAndTheModelCallsUnderThem()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Felix.Workflows" or "Felix.Llm",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var fake = await FakeOpenAIServer.StartAsync();
        await using var app = new FelixApplication(OpenAI(fake));
        using var client = app.CreateApiClient();

        var created = await client.CreateWorkflowAsync("Trace me", maxSteps: 2);
        Assert.Equal(WorkflowStatuses.Completed, (await client.WaitForTerminalAsync(created.WorkflowId)).Status);
        await Poll.UntilAsync(() => Task.FromResult(spans.Any(s => s.DisplayName == "workflow" && Equals(s.GetTagItem("felix.workflow.id"), created.WorkflowId))),
            "the workflow's span to end");

        var root = spans.Single(s => s.DisplayName == "workflow" && Equals(s.GetTagItem("felix.workflow.id"), created.WorkflowId));
        var trace = spans.Where(s => s.TraceId == root.TraceId).ToList();
        Assert.Equal(default, root.ParentSpanId);
        var agents = trace.Where(s => s.DisplayName.StartsWith("invoke_agent ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, agents.Count); // two agents and the synthesis
        Assert.All(agents, a => Assert.Equal(root.SpanId, a.ParentSpanId));
        Assert.All(agents, a => Assert.Equal("invoke_agent", a.GetTagItem("gen_ai.operation.name")));
        var chats = trace.Where(s => s.Source.Name == "Felix.Llm").ToList();
        Assert.Equal(3, chats.Count);
        Assert.All(chats, c => Assert.Contains(agents, a => a.SpanId == c.ParentSpanId));
        Assert.All(chats, c => Assert.Equal("fake-model", c.GetTagItem("gen_ai.request.model")));
    }

    // The run is a trace of its own: the request that created it is found from the workflow id, in the client's trace.
    [Fact]
    public async Task TheCreatingRequestKeepsTheClientsTraceAndNamesTheWorkflow()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        var clientTrace = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/workflows")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { task = "Trace my request", max_steps = 1 }),
        };
        request.Headers.Add("traceparent", $"00-{clientTrace}-{ActivitySpanId.CreateRandom()}-01");

        using var response = await client.SendAsync(request).DefaultTimeout();
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        var workflowId = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!["workflow_id"]!.GetValue<string>();
        await Poll.UntilAsync(() => Task.FromResult(spans.Any(s => s.TraceId == clientTrace)), "the request's span to end");

        var server = spans.Single(s => s.TraceId == clientTrace);
        Assert.Equal(workflowId, server.GetTagItem("felix.workflow.id"));
    }

    [Fact]
    public async Task TheOtlpEndpointVariableExportsTracesMetricsAndLogs()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            // Export soon rather than after the defaults' five seconds (spans, logs) and a minute (metrics).
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
            ["Logging:LogLevel:Felix.Server.Workflows"] = "Information",
        });
        using var client = app.CreateApiClient();

        var created = await client.CreateWorkflowAsync("Export me", maxSteps: 1);
        await client.WaitForTerminalAsync(created.WorkflowId);

        await Poll.UntilAsync(() => Task.FromResult(receiver.Received("traces", created.WorkflowId) && receiver.Received("traces", "invoke_agent")),
            "the workflow's spans at the receiver");
        await Poll.UntilAsync(() => Task.FromResult(receiver.Received("metrics", "felix.events.published")), "Felix's metrics at the receiver");
        await Poll.UntilAsync(() => Task.FromResult(receiver.Received("logs", created.WorkflowId)), "the workflow's log lines at the receiver");
        Assert.True(receiver.Received("metrics", "dotnet.gc.collections"));
    }
}
