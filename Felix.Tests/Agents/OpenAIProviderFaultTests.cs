using System.Globalization;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Agents;

/// <summary>
/// An OpenAI-compatible server that misbehaves the ways real ones do (falls silent, drops the connection mid-stream,
/// sends a broken chunk, asks to come back much later): the workflow ends, with an error that names the cause, and the
/// retries follow the documented policy.
/// </summary>
public sealed class OpenAIProviderFaultTests
{
    private static FelixApplication Application(
        FakeOpenAIServer fake, int maxRetries, string requestTimeout = "00:02:00", string? maxAnswerCharacters = null, string deltaCoalesceWindow = "00:00:00")
    {
        var settings = new Dictionary<string, string?>
        {
            ["Felix:Llm:Provider"] = "OpenAI",
            ["Felix:Llm:Endpoint"] = fake.Endpoint.ToString(),
            ["Felix:Llm:Model"] = "fake-model",
            ["Felix:Llm:MaxRetries"] = maxRetries.ToString(CultureInfo.InvariantCulture),
            ["Felix:Llm:RequestTimeout"] = requestTimeout,
            ["Felix:Llm:DeltaCoalesceWindow"] = deltaCoalesceWindow,
        };
        if (maxAnswerCharacters is not null)
        {
            settings["Felix:Llm:MaxAnswerCharacters"] = maxAnswerCharacters;
        }

        return new(settings);
    }

    private static async Task<(WorkflowResponseSummary Workflow, List<WorkflowEvent> Events)> RunOneAsync(FelixApplication app)
    {
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Misbehave", maxSteps: 1);
        var workflow = await client.WaitForTerminalAsync(created.WorkflowId, TimeSpan.FromSeconds(30));
        return (new(workflow.Status, workflow.Error), await client.ReadEventsAsync(created.WorkflowId));
    }

    private sealed record WorkflowResponseSummary(string Status, string? Error);

    [Fact]
    public async Task AModelThatNeverAnswersIsRetriedAfterEachTimeoutAndThenFailsTheWorkflowSayingSo()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.HoldWhen = _ => true;
        await using var app = Application(fake, maxRetries: 1, requestTimeout: "00:00:00.500");

        var (workflow, events) = await RunOneAsync(app);

        Assert.Equal(WorkflowStatuses.Failed, workflow.Status);
        Assert.Equal("The language model did not answer in time.", workflow.Error);
        Assert.Equal(workflow.Error, Assert.IsType<WorkflowErrorEvent>(events[^1]).Error);
        Assert.Equal(2, fake.Requests); // the first attempt and one retry, as MaxRetries says
    }

    [Fact]
    public async Task AStreamThatFallsSilentFailsTheWorkflowSayingTheModelDidNotAnswerInTimeAndClosesTheStream()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.Fault = StreamFault.Silence;
        // The timeout also bounds the wait for the answer's headers and for each word before the silence: long enough
        // that a loaded machine does not stretch those past it.
        await using var app = Application(fake, maxRetries: 2, requestTimeout: "00:00:02");

        var (workflow, events) = await RunOneAsync(app);

        Assert.Equal(WorkflowStatuses.Failed, workflow.Status);
        Assert.Equal("The language model did not answer in time.", workflow.Error);
        Assert.Equal("The fake model ", string.Concat(events.OfType<AgentOutputDeltaEvent>().Select(d => d.Delta))); // the words before the silence
        await fake.StreamAborted.Task.DefaultTimeout();
        Assert.Equal(1, fake.Requests); // text already streamed: not asked again
    }

    [Fact]
    public async Task AStreamThatKeepsSendingIsNotCutByTheRequestTimeout()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        // Each call streams for about 4 s, well over the timeout below, while no gap between words comes near it (a
        // loaded machine can stretch a 100 ms gap past a 400 ms timeout).
        fake.WordDelay = TimeSpan.FromMilliseconds(250);
        await using var app = Application(fake, maxRetries: 0, requestTimeout: "00:00:01.500");

        var (workflow, _) = await RunOneAsync(app);

        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        Assert.Equal(2, fake.Requests);
    }

    [Fact]
    public async Task AStreamBrokenOffMidwayFailsTheWorkflowSayingSo()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.Fault = StreamFault.Reset;
        await using var app = Application(fake, maxRetries: 2);

        var (workflow, events) = await RunOneAsync(app);

        Assert.Equal(WorkflowStatuses.Failed, workflow.Status);
        Assert.Equal("The language model endpoint broke off its answer.", workflow.Error);
        Assert.Equal(workflow.Error, Assert.IsType<WorkflowErrorEvent>(events[^1]).Error);
        Assert.Equal(1, fake.Requests);
    }

    [Theory]
    [InlineData(StreamFault.Reset, "The language model endpoint broke off its answer.")]
    [InlineData(StreamFault.MalformedChunk, "The language model endpoint sent an answer that is not valid JSON.")]
    [InlineData(StreamFault.Silence, "The language model did not answer in time.")]
    public async Task EveryWordStreamedBeforeAStreamFailsIsInTheHistoryBeforeTheError(StreamFault fault, string error)
    {
        // The words that came within the delta window of the last delta waited for the next one, and the failure
        // dropped them: clients got workflow_error without the last text the model had sent. A window of a minute
        // keeps every word after the first waiting, as a fast model's last words before a break always are.
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.Fault = fault;
        var requestTimeout = fault == StreamFault.Silence ? "00:00:02" : "00:02:00";
        await using var app = Application(fake, maxRetries: 0, requestTimeout, deltaCoalesceWindow: "00:01:00");

        var (workflow, events) = await RunOneAsync(app);

        Assert.Equal(WorkflowStatuses.Failed, workflow.Status);
        Assert.Equal(error, workflow.Error);
        var deltas = events.OfType<AgentOutputDeltaEvent>().ToList();
        Assert.Equal("The fake model ", string.Concat(deltas.Select(d => d.Delta)));
        Assert.Equal(Enumerable.Range(0, deltas.Count), deltas.Select(d => d.Index));
        Assert.True(events.IndexOf(deltas[^1]) < events.FindIndex(e => e is WorkflowErrorEvent), "the text comes before the error");
        Assert.Equal(error, Assert.IsType<WorkflowErrorEvent>(events[^1]).Error);
    }

    [Fact]
    public async Task AMalformedChunkFailsTheWorkflowSayingSo()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.Fault = StreamFault.MalformedChunk;
        await using var app = Application(fake, maxRetries: 2);

        var (workflow, _) = await RunOneAsync(app);

        Assert.Equal(WorkflowStatuses.Failed, workflow.Status);
        Assert.Equal("The language model endpoint sent an answer that is not valid JSON.", workflow.Error);
        Assert.Equal(1, fake.Requests);
    }

    [Fact]
    public async Task ARetryAfterLongerThanTheLimitFailsTheWorkflowAtOnceInsteadOfWaitingItOut()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.FailWith = 429;
        fake.RetryAfter = "3600"; // an hourly quota spent
        await using var app = Application(fake, maxRetries: 2);

        var (workflow, _) = await RunOneAsync(app);

        Assert.Equal(WorkflowStatuses.Failed, workflow.Status);
        Assert.Equal("The language model endpoint answered HTTP 429.", workflow.Error);
        Assert.Equal(1, fake.Requests);
    }

    [Fact]
    public async Task AShortRetryAfterIsWaitedOutAndTheRetrySucceeds()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.FailWith = 503;
        fake.FailTimes = 1;
        fake.RetryAfter = "1";
        await using var app = Application(fake, maxRetries: 2);

        var (workflow, _) = await RunOneAsync(app);

        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        Assert.Equal(3, fake.Requests); // the refused attempt, its retry, the synthesis
    }

    [Fact]
    public async Task AnEmptySynthesisFailsTheWorkflowInsteadOfCompletingItWithNothing()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.SynthesisAnswer = "";
        await using var app = Application(fake, maxRetries: 2);

        var (workflow, events) = await RunOneAsync(app);

        Assert.Equal(WorkflowStatuses.Failed, workflow.Status);
        Assert.Equal("The language model answered with no text.", workflow.Error);
        Assert.Single(events.OfType<AgentOutputEvent>());
        Assert.DoesNotContain(events, e => e is WorkflowCompleteEvent);
    }

    [Fact]
    public async Task AnAnswerLongerThanTheLimitFailsTheWorkflowInsteadOfFillingTheStoreAndEveryClient()
    {
        // A server that ignored the token budget streamed 8 MB into one agent_output, stored and sent to every client.
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.SynthesisAnswer = string.Join(' ', Enumerable.Repeat("endless", 100));
        await using var app = Application(fake, maxRetries: 0, maxAnswerCharacters: "300");

        var (workflow, events) = await RunOneAsync(app);

        Assert.Equal(WorkflowStatuses.Failed, workflow.Status);
        Assert.Equal("The language model's answer ran past 300 characters (Felix:Llm:MaxAnswerCharacters).", workflow.Error);
        Assert.Single(events.OfType<AgentOutputEvent>());
        Assert.DoesNotContain(events, e => e is WorkflowCompleteEvent);
    }
}
