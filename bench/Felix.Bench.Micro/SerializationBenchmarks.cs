using BenchmarkDotNet.Attributes;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Felix.Server.Streaming;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;

namespace Felix.Bench.Micro;

/// <summary>
/// One event encoded once for each wire: the raw protocol's snake_case JSON (<see cref="PublishedEvent"/>), and the
/// hub invocation under the JSON and MessagePack protocols (what SignalR caches per protocol for a group send).
/// </summary>
[MemoryDiagnoser]
public class SerializationBenchmarks
{
    private readonly AgentOutputDeltaEvent _event = BenchEvents.Delta();
    private readonly JsonHubProtocol _json;
    private readonly MessagePackHubProtocol _messagePack;

    public SerializationBenchmarks()
    {
        _json = new JsonHubProtocol(Options.Create(CreateJsonOptions()));
        var messagePack = new MessagePackHubProtocolOptions();
        messagePack.SerializerOptions = messagePack.SerializerOptions.WithFelixResolver();
        _messagePack = new MessagePackHubProtocol(Options.Create(messagePack));
    }

    [Benchmark(Baseline = true)]
    public int RawSnakeCaseJson() => new PublishedEvent(_event).SnakeCaseUtf8.Length;

    [Benchmark]
    public int SignalRJson() => _json.GetMessageBytes(Invocation()).Length;

    [Benchmark]
    public int SignalRMessagePack() => _messagePack.GetMessageBytes(Invocation()).Length;

    private InvocationMessage Invocation() => new(nameof(IWorkflowClient.AgentOutputDelta), [_event]);

    private static JsonHubProtocolOptions CreateJsonOptions()
    {
        var options = new JsonHubProtocolOptions();
        options.PayloadSerializerOptions.AddFelixConverters();
        return options;
    }
}
