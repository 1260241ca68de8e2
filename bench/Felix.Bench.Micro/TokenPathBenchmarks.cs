using BenchmarkDotNet.Attributes;
using Felix.Contracts.Events;
using Felix.Server.Agents;
using Felix.Server.Observability;
using Felix.Server.Streaming;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Felix.Bench.Micro;

/// <summary>
/// What a running workflow does per token at a model's pace, without the pace: one agent's call of the offline model
/// (no token delay) through <see cref="AgentModel"/>, a <see cref="DeltaCoalescer"/> per stream with a zero window (at
/// a model's pace every token is a delta of its own), and each delta published through <see cref="EventPublisher"/>
/// into the in-memory log with one transport that takes nothing (no client).
/// </summary>
/// <remarks>
/// One operation is one token: <see cref="Tokens"/> is how many deltas a call publishes (counted in the setup, checked
/// after each call). Each call publishes into a stream of its own and ends it, as runs do.
/// </remarks>
[MemoryDiagnoser]
public class TokenPathBenchmarks
{
    private const int Tokens = 95;

    private readonly List<ChatMessage> _prompt =
    [
        new(ChatRole.System, "You are a research agent of a helix of agents."),
        new(ChatRole.User, "Task: Compare tea and coffee for a long night of writing code"),
    ];

    private ServiceProvider _services = null!;
    private EventPublisher _publisher = null!;
    private AgentModel _model = null!;
    private int _call;

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var streaming = Options.Create(new StreamingOptions { MaxEventsPerWorkflow = 100 });
        var log = new InMemoryEventLog(streaming);
        var metrics = new FelixMetrics(_services.GetRequiredService<IMeterFactory>());
        var fanout = new LocalFanout(log, [new NoOpSink()], streaming, TimeProvider.System, metrics, NullLogger<LocalFanout>.Instance);
        _publisher = new EventPublisher(log, fanout, TimeProvider.System, metrics);
        var offline = new OfflineChatClient(Options.Create(new LlmOptions { OfflineTokenDelay = TimeSpan.Zero }), TimeProvider.System);
        _model = new AgentModel(offline, TimeProvider.System, metrics, Options.Create(new LlmOptions()));
        var published = CallAsync().GetAwaiter().GetResult();
        if (published != Tokens)
        {
            throw new InvalidOperationException($"A call published {published} deltas; set Tokens to that.");
        }
    }

    [Benchmark(OperationsPerInvoke = Tokens)]
    public Task<int> Token() => CallAsync();

    private async Task<int> CallAsync()
    {
        var workflowId = $"wf_bench_{++_call}";
        var published = 0;
        async ValueTask Publish(WorkflowEvent evt)
        {
            await _publisher.PublishAsync(evt);
            published++;
        }

        var text = new DeltaCoalescer((delta, index) => Publish(new AgentOutputDeltaEvent
        {
            WorkflowId = workflowId, AgentId = "research_1", Delta = delta, Index = index,
        }), TimeProvider.System, TimeSpan.Zero);
        var reasoning = new DeltaCoalescer((delta, index) => Publish(new AgentReasoningDeltaEvent
        {
            WorkflowId = workflowId, AgentId = "research_1", Delta = delta, Index = index,
        }), TimeProvider.System, TimeSpan.Zero);
        await _model.CallAsync(new ModelCall(_prompt, text, reasoning), 0.7f, 400, CancellationToken.None);
        await _publisher.PublishAsync(new WorkflowErrorEvent { WorkflowId = workflowId, Error = "call over" });
        return published;
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    private sealed class NoOpSink : IEventSink
    {
        public ValueTask DeliverAsync(PublishedEvent evt, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask LoseAsync(string workflowId, string epoch) => ValueTask.CompletedTask;
    }
}
