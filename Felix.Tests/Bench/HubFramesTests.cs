using System.Buffers;
using System.Text;
using Felix.Bench.Load;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;

namespace Felix.Tests.Bench;

/// <summary>The lean bench client reads what SignalR's own protocols write, and writes what they read.</summary>
public sealed class HubFramesTests
{
    private const string Timestamp = "2026-01-02T03:04:05.000006Z";
    private static readonly long Ticks = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc).Ticks + 60;

    private static readonly IHubProtocol Json = new JsonHubProtocol(Options.Create(new JsonHubProtocolOptions
    {
        PayloadSerializerOptions = new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web).AddFelixConverters(),
    }));

    private static readonly IHubProtocol MessagePack = new MessagePackHubProtocol(Options.Create(new MessagePackHubProtocolOptions
    {
        SerializerOptions = FelixSerialization.MessagePackOptions,
    }));

    private static AgentOutputDeltaEvent Delta() => new()
    {
        WorkflowId = "wf-1",
        Sequence = 7,
        Epoch = "e",
        EventId = "e-7",
        Timestamp = Timestamp,
        AgentId = "a",
        Delta = "text with \"timestamp\" in it",
    };

    public static TheoryData<string> Protocols => ["json", "messagepack"];

    private static HubMessageKind Parse(string protocol, HubMessage message, out long ticks)
    {
        var bytes = (protocol == "json" ? Json : MessagePack).GetMessageBytes(message).ToArray();
        if (protocol == "json")
        {
            Assert.Equal(HubFrames.RecordSeparator, bytes[^1]);
            return HubFrames.ParseJson(bytes.AsSpan(0, bytes.Length - 1), out ticks);
        }

        Assert.True(HubFrames.TryReadLengthPrefixed(bytes, out var prefix, out var length));
        Assert.Equal(bytes.Length, prefix + length);
        return HubFrames.ParseMessagePack(bytes.AsMemory(prefix, length), out ticks);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void ReadsTheTimestampOfAnEventInvocation(string protocol)
    {
        var kind = Parse(protocol, new InvocationMessage(nameof(IWorkflowClient.AgentOutputDelta), [Delta()]), out var ticks);

        Assert.Equal(HubMessageKind.Event, kind);
        Assert.Equal(Ticks, ticks);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void IgnoresOtherTargets(string protocol) =>
        Assert.Equal(HubMessageKind.Other, Parse(protocol, new InvocationMessage(nameof(IWorkflowClient.AgentOutput), [Delta()]), out _));

    [Fact]
    public void ThePacedReadingTakesEveryEventAndKnowsTheTerminalOnes()
    {
        var complete = new WorkflowCompleteEvent { WorkflowId = "wf-1", Sequence = 9, Epoch = "e", EventId = "e-9", Timestamp = Timestamp };
        var output = MessagePack.GetMessageBytes(new InvocationMessage(nameof(IWorkflowClient.AgentOutput), [Delta()])).ToArray();
        var end = MessagePack.GetMessageBytes(new InvocationMessage(nameof(IWorkflowClient.WorkflowComplete), [complete])).ToArray();

        Assert.True(HubFrames.TryReadLengthPrefixed(output, out var prefix, out var length));
        Assert.Equal(HubMessageKind.Event, HubFrames.ParseMessagePackEvent(output.AsMemory(prefix, length), out var terminal, out var ticks));
        Assert.Equal((false, Ticks), (terminal, ticks));
        Assert.True(HubFrames.TryReadLengthPrefixed(end, out prefix, out length));
        Assert.Equal(HubMessageKind.Event, HubFrames.ParseMessagePackEvent(end.AsMemory(prefix, length), out terminal, out ticks));
        Assert.Equal((true, Ticks), (terminal, ticks));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void ReadsCompletionsPingsAndCloses(string protocol)
    {
        Assert.Equal(HubMessageKind.Completion, Parse(protocol, CompletionMessage.WithResult("0", "ok"), out _));
        Assert.Equal(HubMessageKind.Completion, Parse(protocol, CompletionMessage.Empty("0"), out _));
        Assert.Equal(HubMessageKind.CompletionError, Parse(protocol, CompletionMessage.WithError("0", "no"), out _));
        Assert.Equal(HubMessageKind.Ping, Parse(protocol, PingMessage.Instance, out _));
        Assert.Equal(HubMessageKind.Close, Parse(protocol, new CloseMessage("bye"), out _));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void WritesInvocationsAndPingsTheServerReads(string protocol)
    {
        var hub = protocol == "json" ? Json : MessagePack;
        var binder = new Binder();
        var invocation = protocol == "json"
            ? HubFrames.JsonInvocation("0", "Subscribe", "wf-1", null)
            : HubFrames.MessagePackInvocation("0", "Subscribe", "wf-1", null);
        var ping = protocol == "json" ? HubFrames.JsonPing : HubFrames.MessagePackPing;
        var input = new ReadOnlySequence<byte>([.. invocation, .. ping]);

        Assert.True(hub.TryParseMessage(ref input, binder, out var first));
        var message = Assert.IsType<InvocationMessage>(first);
        Assert.Equal("0", message.InvocationId);
        Assert.Equal("Subscribe", message.Target);
        Assert.Equal(["wf-1", null], message.Arguments);
        Assert.True(hub.TryParseMessage(ref input, binder, out var second));
        Assert.IsType<PingMessage>(second);
        Assert.Equal(0, input.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(300)]
    [InlineData(70_000)]
    public void LengthPrefixRoundTrips(int length)
    {
        var buffer = new byte[5 + length];
        var prefix = HubFrames.WriteLengthPrefix(buffer, length);

        Assert.True(HubFrames.TryReadLengthPrefixed(buffer.AsSpan(0, prefix + length), out var read, out var messageLength));
        Assert.Equal((prefix, length), (read, messageLength));
        Assert.False(HubFrames.TryReadLengthPrefixed(buffer.AsSpan(0, prefix + length - 1), out _, out _));
    }

    [Fact]
    public void HandshakeIsJsonWithASeparator() =>
        Assert.Equal("{\"protocol\":\"messagepack\",\"version\":1}\u001e", Encoding.UTF8.GetString(HubFrames.Handshake("messagepack")));

    private sealed class Binder : IInvocationBinder
    {
        public IReadOnlyList<Type> GetParameterTypes(string methodName) => [typeof(string), typeof(long?)];

        public Type GetReturnType(string invocationId) => typeof(object);

        public Type GetStreamItemType(string streamId) => typeof(object);
    }
}
