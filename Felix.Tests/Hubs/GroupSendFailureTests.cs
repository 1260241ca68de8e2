using System.Buffers;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Logging;

namespace Felix.Tests.Hubs;

/// <summary>
/// The coalescer's answer to members it cannot write to: a member whose write fails after it went pending, or whose
/// protocol cannot serialise the events, is aborted (it resumes by sequence), counted as dropped, and the others carry
/// on. The coalescer, the group membership and the JSON protocol are the server's; the members are connections whose
/// writes the test answers (<see cref="ScriptedHubMember"/>), since a real transport's failures cannot be timed.
/// </summary>
public sealed class GroupSendFailureTests : IDisposable
{
    private static readonly TimeSpan ShortLimit = TimeSpan.FromSeconds(5);

    private readonly GroupSendRig _rig = new();

    [Fact]
    public async Task AMemberWhoseWriteFailsAfterItWentPendingIsAbortedAndTheOthersKeepGettingEvents()
    {
        var failing = await JoinAsync(new ScriptedHubMember(ScriptedHubMember.Json, holdWrites: true));
        var healthy = await JoinAsync(new ScriptedHubMember(ScriptedHubMember.Json, holdWrites: false));

        await SendAsync(1);
        await Poll.UntilAsync(() => Task.FromResult(failing.Writes.Count == 1 && healthy.Sequences.Count == 1), "the first event to both", ShortLimit);
        Assert.Equal(0, failing.Aborts);

        // What SignalR does to a write cancelled while it waits for the connection's write lock: it throws, and leaves
        // the connection open.
        failing.Writes[0].Fail(new OperationCanceledException("the send deadline passed"));
        await Poll.UntilAsync(() => Task.FromResult(failing.Aborts == 1), "the failed member to be aborted", ShortLimit);
        await _rig.Membership.OnDisconnectedAsync(failing);

        await SendAsync(2);
        await SendAsync(3);
        await Poll.UntilAsync(() => Task.FromResult(healthy.Sequences.Count == 3), "the later events to the healthy member", ShortLimit);
        Assert.Equal([1, 2, 3], healthy.Sequences);
        Assert.Equal(0, healthy.Aborts);
        Assert.Equal([1], failing.Sequences);
        Assert.Equal(1, _rig.Dropped.Total);
        Assert.Equal(1, _rig.Dropped.TotalWith("reason", "slow_consumer"));
        Assert.Equal(1, _rig.Dropped.TotalWith("transport", "signalr"));
        // Logged once for the batch, after the drop is counted.
        await Poll.UntilAsync(() => Task.FromResult(_rig.Logged(4003).Length > 0), "the failed send to be logged", ShortLimit);
        var logged = Assert.Single(_rig.Logged(4003));
        Assert.Equal(LogLevel.Warning, logged.Level);
        Assert.IsType<OperationCanceledException>(logged.Exception);
    }

    [Fact]
    public async Task AnEventThatCannotBeSerialisedForAProtocolDisconnectsThatProtocolsMembersOnly()
    {
        // Joined in this order so that the JSON member is written between the two that fail. One protocol instance, as
        // SignalR has one per name: the batch is serialised once per protocol.
        var unserialisable = new UnserialisableProtocol();
        var brokenFirst = await JoinAsync(new ScriptedHubMember(unserialisable, holdWrites: false));
        var json = await JoinAsync(new ScriptedHubMember(ScriptedHubMember.Json, holdWrites: false));
        var brokenSecond = await JoinAsync(new ScriptedHubMember(unserialisable, holdWrites: false));

        await SendAsync(1);
        await Poll.UntilAsync(() => Task.FromResult(json.Sequences.Count == 1), "the event to the JSON member", ShortLimit);
        await Poll.UntilAsync(() => Task.FromResult(brokenFirst.Aborts == 1 && brokenSecond.Aborts == 1), "both members of the failing protocol to be aborted", ShortLimit);

        // Each is told by the coalescer, which counts the event each missed; none got a write.
        Assert.Equal(2, _rig.Dropped.Total);
        Assert.Equal(2, _rig.Dropped.TotalWith("reason", "transport_failed"));
        Assert.Equal(2, _rig.Dropped.TotalWith("transport", "signalr"));
        Assert.Empty(brokenFirst.Writes);
        Assert.Empty(brokenSecond.Writes);

        await _rig.Membership.OnDisconnectedAsync(brokenFirst);
        await _rig.Membership.OnDisconnectedAsync(brokenSecond);
        await SendAsync(2);
        await Poll.UntilAsync(() => Task.FromResult(json.Sequences.Count == 2), "the next event to the JSON member", ShortLimit);
        Assert.Equal([1, 2], json.Sequences);
        Assert.Equal(0, json.Aborts);
        // The serialisation failure is logged once, with its exception; the members it disconnected failed no write.
        var logged = Assert.Single(_rig.Logged(4004));
        Assert.Equal(LogLevel.Error, logged.Level);
        Assert.NotNull(logged.Exception);
        Assert.Empty(_rig.Logged(4003));
    }

    public void Dispose() => _rig.Dispose();

    private Task<ScriptedHubMember> JoinAsync(ScriptedHubMember member) => _rig.JoinAsync(member);

    private async Task SendAsync(long sequence) => await _rig.Send(sequence);

    /// <summary>A protocol that cannot write any message: stands for one that fails on some event's content.</summary>
    private sealed class UnserialisableProtocol : IHubProtocol
    {
        public string Name => "unserialisable";

        public int Version => 1;

        public TransferFormat TransferFormat => TransferFormat.Text;

        public bool IsVersionSupported(int version) => true;

        public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HubMessage? message)
        {
            message = null;
            return false;
        }

        public void WriteMessage(HubMessage message, IBufferWriter<byte> output) => throw new NotSupportedException("cannot serialise this event");

        public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message) => throw new NotSupportedException("cannot serialise this event");
    }
}
