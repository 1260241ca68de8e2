using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace Felix.Tests.Hubs;

/// <summary>
/// The writes of one stateful-reconnect connection: one at a time, in order, each with the send deadline, and once the
/// connection was ended for a failed or late write nothing more is written and the loss is reported once.
/// </summary>
public sealed class StatefulReconnectWriterTests
{
    private static readonly TimeSpan ShortLimit = TimeSpan.FromSeconds(5);

    private readonly FakeTimeProvider _time = new();
    private readonly List<(int Missed, Exception Error)> _ended = [];

    [Fact]
    public async Task WritesGoOutOneAtATimeInOrderAndAQueueThatEmptiedStartsAgain()
    {
        var member = new ScriptedHubMember(ScriptedHubMember.Json, holdWrites: true);
        var writer = NewWriter(member);

        writer.Enqueue(Messages(1));
        writer.Enqueue(Messages(2, 3));
        writer.Enqueue(Messages(4));
        // A drain starts its first write before Enqueue returns: a second drain would have started another by now.
        Assert.Single(member.Writes);
        for (var written = 1; written <= 4; written++)
        {
            await Poll.UntilAsync(() => Task.FromResult(member.Writes.Count == written), $"write {written} to start", ShortLimit);
            member.Writes[^1].Complete();
        }

        // The drain finds the queue empty and stops; it says so to nobody, hence the pause. A later event then starts
        // a new drain.
        await Task.Delay(200);
        writer.Enqueue(Messages(5));
        await Poll.UntilAsync(() => Task.FromResult(member.Writes.Count == 5), "the write after the queue had emptied", ShortLimit);
        member.Writes[^1].Complete();

        Assert.Equal(1, member.MaxInFlight);
        Assert.Equal([1, 2, 3, 4, 5], member.Sequences);
        Assert.All(member.Writes, w => Assert.Single(w.Sequences));
        Assert.Equal(0, member.Aborts);
        Assert.Empty(_ended);
    }

    [Fact]
    public async Task AFailedWriteEndsTheConnectionOnceAndNothingIsWrittenAfterIt()
    {
        var member = new ScriptedHubMember(ScriptedHubMember.Json, holdWrites: true);
        var writer = NewWriter(member);
        writer.Enqueue(Messages(1));
        writer.Enqueue(Messages(2, 3));
        await Poll.UntilAsync(() => Task.FromResult(member.Writes.Count == 1), "the first write", ShortLimit);

        var failure = new InvalidOperationException("the transport failed");
        member.Writes[0].Fail(failure);
        await Poll.UntilAsync(() => Task.FromResult(Ended() > 0), "the connection to be ended", ShortLimit);
        // Writes start before Enqueue returns, so these would show at once.
        writer.Enqueue(Messages(4));
        writer.Enqueue(Messages(5, 6));

        Assert.Equal([1], member.Sequences);
        Assert.Equal(1, member.Aborts);
        lock (_ended)
        {
            // The failed event and the two queued behind it; the later ones are not counted again.
            var (missed, error) = Assert.Single(_ended);
            Assert.Equal(3, missed);
            Assert.Same(failure, error);
        }
    }

    [Fact]
    public async Task AWriteStillPendingAtItsDeadlineEndsTheConnection()
    {
        var member = new ScriptedHubMember(ScriptedHubMember.Json, holdWrites: true);
        var writer = NewWriter(member, TimeSpan.FromSeconds(8)); // window 1 s: cancelled 9 s after the write starts
        writer.Enqueue(Messages(1, 2));
        await Poll.UntilAsync(() => Task.FromResult(member.Writes.Count == 1), "the first write", ShortLimit);

        _time.Advance(TimeSpan.FromSeconds(7));
        await Task.Delay(50);
        Assert.Equal(0, member.Aborts);

        _time.Advance(TimeSpan.FromSeconds(3));
        await Poll.UntilAsync(() => Task.FromResult(Ended() > 0), "the connection to be ended at the deadline", ShortLimit);
        Assert.Equal(1, member.Aborts);
        lock (_ended)
        {
            var (missed, error) = Assert.Single(_ended);
            Assert.Equal(2, missed);
            Assert.IsAssignableFrom<OperationCanceledException>(error);
        }

        Assert.Single(member.Writes);
    }

    private int Ended()
    {
        lock (_ended)
        {
            return _ended.Count;
        }
    }

    private StatefulReconnectWriter NewWriter(ScriptedHubMember member, TimeSpan? deadline = null) =>
        new(member, new SharedDeadline(deadline ?? TimeSpan.FromSeconds(8), _time), (missed, ex) =>
        {
            lock (_ended)
            {
                _ended.Add((missed, ex));
            }
        });

    private static SerializedHubMessage[] Messages(params long[] sequences) =>
    [
        .. sequences.Select(s => new SerializedHubMessage(new InvocationMessage(
            nameof(IWorkflowClient.AgentOutputDelta), [new AgentOutputDeltaEvent { WorkflowId = "wf", Sequence = s, AgentId = "a", Delta = "x" }]))),
    ];
}
