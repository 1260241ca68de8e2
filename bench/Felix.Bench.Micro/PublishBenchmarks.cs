using BenchmarkDotNet.Attributes;
using Felix.Contracts.Events;
using Felix.Server.Observability;
using Felix.Server.Streaming;
using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Felix.Bench.Micro;

/// <summary>
/// <see cref="EventPublisher.PublishAsync"/> end to end with the in-memory log: stamp, append, one no-op transport and
/// <see cref="Subscribers"/> local subscriptions, each drained by its own reader as a raw socket's send loop does.
/// </summary>
/// <remarks>
/// A running stream keeps every event (its history is its checkpoint), so each iteration publishes into a stream of its
/// own and ends it, as runs do; its subscribers are set up before it and end with it.
/// </remarks>
[MemoryDiagnoser]
[InvocationCount(10_000)]
public class PublishBenchmarks
{
    private readonly CancellationTokenSource _stop = new();
    private ServiceProvider _services = null!;
    private EventPublisher _publisher = null!;
    private readonly List<Task> _readers = [];
    private int _index;
    private int _iteration;
    private string _workflowId = "";

    [Params(0, 100)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var streaming = Options.Create(new StreamingOptions { SendQueueCapacity = 1_000_000, MaxEventsPerWorkflow = 100 });
        var log = new InMemoryEventLog(streaming);
        var metrics = new FelixMetrics(_services.GetRequiredService<IMeterFactory>());
        var fanout = new LocalFanout(log, [new NoOpSink()], streaming, TimeProvider.System, metrics, NullLogger<LocalFanout>.Instance);
        _publisher = new EventPublisher(log, fanout, TimeProvider.System, metrics);
    }

    [IterationSetup]
    public void StartStream()
    {
        _workflowId = $"wf_bench_{++_iteration}";
        for (var i = 0; i < Subscribers; i++)
        {
            var subscription = _publisher.SubscribeAsync(_workflowId, null, null).GetAwaiter().GetResult();
            _readers.Add(Task.Run(async () =>
            {
                await foreach (var _ in subscription.ReadAllAsync(_stop.Token))
                {
                }
            }));
        }
    }

    [Benchmark]
    public async Task<long> Publish()
    {
        var evt = new AgentOutputDeltaEvent { WorkflowId = _workflowId, AgentId = "bench-agent", Delta = "token", Index = _index++ };
        return (await _publisher.PublishAsync(evt)).Sequence;
    }

    [IterationCleanup]
    public void EndStream()
    {
        _publisher.PublishAsync(new WorkflowErrorEvent { WorkflowId = _workflowId, Error = "iteration over" }).AsTask().GetAwaiter().GetResult();
        Task.WaitAll([.. _readers], TimeSpan.FromSeconds(5));
        _readers.Clear();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop.Cancel();
        try
        {
            Task.WaitAll([.. _readers], TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _services.Dispose();
    }

    private sealed class NoOpSink : IEventSink
    {
        public ValueTask DeliverAsync(PublishedEvent evt, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask LoseAsync(string workflowId, string epoch) => ValueTask.CompletedTask;
    }
}
