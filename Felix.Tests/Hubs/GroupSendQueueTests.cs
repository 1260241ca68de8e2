using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Felix.Tests.Hubs;

/// <summary>
/// What the coalescer does with the events that queue up while a write holds its drain: it makes a publisher that is
/// far ahead wait, cuts the queue into writes of at most 256 events or about 64 KiB, splits it where the group's
/// members change, keeps writing past a turn's batches, and writes to a stateful-reconnect member one event at a time.
/// The coalescer, the group membership and the JSON protocol are the server's; the members are connections whose
/// writes the test answers (<see cref="ScriptedHubMember"/>): a write that waits for the test's permit holds the drain
/// as a transport slow to take it would. Unit tests, not transport tests (<see cref="GroupSendCoalescerTests"/> drives
/// real clients through bursts).
/// </summary>
public sealed class GroupSendQueueTests : IDisposable
{
    private static readonly TimeSpan ShortLimit = TimeSpan.FromSeconds(10);

    private readonly GroupSendRig _rig = new();
    private readonly SemaphoreSlim _permits = new(0);

    [Fact]
    public async Task APublisherFarAheadOfTheWritesWaitsPastTheLimitUntilHalfTheQueueIsTaken()
    {
        var member = await JoinAsync(new ScriptedHubMember(ScriptedHubMember.Json, holdWrites: false) { WritePermits = _permits });
        await HoldTheDrainAsync(member);

        // Event 1 is being written; up to MaxPending events queue behind it without making the publisher wait.
        const int limit = GroupSendCoalescer.MaxPending;
        for (var sequence = 2; sequence <= limit + 1; sequence++)
        {
            Assert.True(Send(sequence).IsCompletedSuccessfully, $"the send of event {sequence} waited with {sequence - 1} queued");
        }

        // Past it, every send waits: 256 more, so that the queue holds 8,192 events (half the limit) after 33 writes.
        var waiting = new List<Task>();
        for (var sequence = limit + 2; sequence <= limit + 257; sequence++)
        {
            waiting.Add(Send(sequence).AsTask());
        }

        Assert.DoesNotContain(waiting, t => t.IsCompleted);
        const int total = limit + 257;

        // One write at a time: the drain takes the next 256 events (releasing the publisher when that leaves at most
        // half the limit queued), then holds in their write until the next permit.
        for (var released = 1; released <= 33; released++)
        {
            _permits.Release();
            var started = released + 1;
            await Poll.UntilAsync(() => Task.FromResult(member.Writes.Count == started), $"write {started} to start", ShortLimit);
            var queued = total - 1 - (256 * released);
            Assert.True(waiting.All(t => t.IsCompleted) == (queued <= limit / 2), $"with {queued} events queued the publisher was {(waiting.Any(t => t.IsCompleted) ? "released" : "still waiting")}");
        }

        // The rest goes out too, past the drain's batches per turn.
        _permits.Release(1000);
        await Poll.UntilAsync(() => Task.FromResult(member.Sequences.Count == total), () => $"every event to be written ({member.Sequences.Count} of {total})", ShortLimit);
        await Task.WhenAll(waiting).WaitAsync(ShortLimit);
        Assert.Equal(Enumerable.Range(1, total).Select(s => (long)s), member.Sequences);
        Assert.Equal([1, .. Enumerable.Repeat(256, (total - 1) / 256)], member.Writes.Select(w => w.Sequences.Length));
        Assert.Equal(0, member.Aborts);
    }

    [Theory]
    [InlineData("output_delta", 8, 2)]
    [InlineData("reasoning_delta", 8, 2)]
    [InlineData("output", 8, 2)]
    [InlineData("status", 128, 64)]
    public async Task AWriteCarriesAboutSixtyFourKibibytesAtMost(string kind, int events, int perWrite)
    {
        var member = await JoinAsync(new ScriptedHubMember(ScriptedHubMember.Json, holdWrites: false) { WritePermits = _permits });
        await HoldTheDrainAsync(member);

        // Texts of 32,512 characters are estimated at 32 KiB with the event around them; other events at 1 KiB.
        var text = new string('x', (32 * 1024) - 256);
        for (var sequence = 2; sequence <= events + 1; sequence++)
        {
            WorkflowEvent evt = kind switch
            {
                "output_delta" => new AgentOutputDeltaEvent { WorkflowId = "wf", Sequence = sequence, AgentId = "a", Delta = text },
                "reasoning_delta" => new AgentReasoningDeltaEvent { WorkflowId = "wf", Sequence = sequence, AgentId = "a", Delta = text },
                "output" => new AgentOutputEvent { WorkflowId = "wf", Sequence = sequence, AgentId = "a", Content = text },
                _ => new WorkflowStatusEvent { WorkflowId = "wf", Sequence = sequence, Status = WorkflowStatuses.Running },
            };
            Assert.True(_rig.Coalescer.SendAsync(GroupSendRig.Group, nameof(IWorkflowClient.AgentOutputDelta), evt).IsCompletedSuccessfully);
        }

        _permits.Release(1000);
        await Poll.UntilAsync(() => Task.FromResult(member.Sequences.Count == events + 1), "every event to be written", ShortLimit);
        Assert.Equal(Enumerable.Range(1, events + 1).Select(s => (long)s), member.Sequences);
        Assert.Equal([1, .. Enumerable.Repeat(perWrite, events / perWrite)], member.Writes.Select(w => w.Sequences.Length));
    }

    [Fact]
    public async Task AMemberThatJoinsBetweenQueuedSendsGetsOnlyTheEventsAfterItsJoin()
    {
        var first = await JoinAsync(new ScriptedHubMember(ScriptedHubMember.Json, holdWrites: false) { WritePermits = _permits });
        await HoldTheDrainAsync(first);
        Assert.True(Send(2).IsCompletedSuccessfully);
        var joined = await JoinAsync(new ScriptedHubMember(ScriptedHubMember.Json, holdWrites: false));
        Assert.True(Send(3).IsCompletedSuccessfully);
        Assert.True(Send(4).IsCompletedSuccessfully);

        _permits.Release(1000);
        await Poll.UntilAsync(() => Task.FromResult(first.Sequences.Count == 4 && joined.Sequences.Count == 2), "events 3 and 4 to both", ShortLimit);
        Assert.Equal([[1], [2], [3, 4]], first.Writes.Select(w => w.Sequences));
        Assert.Equal([[3, 4]], joined.Writes.Select(w => w.Sequences));
    }

    [Fact]
    public async Task AStatefulReconnectMemberIsWrittenOneEventAtATimeWhileTheOthersGetBatches()
    {
        var plain = await JoinAsync(new ScriptedHubMember(ScriptedHubMember.Json, holdWrites: false) { WritePermits = _permits });
        var stateful = await JoinAsync(new ScriptedHubMember(ScriptedHubMember.Json, holdWrites: false, statefulReconnect: true));
        await HoldTheDrainAsync(plain);
        for (var sequence = 2; sequence <= 6; sequence++)
        {
            Assert.True(Send(sequence).IsCompletedSuccessfully);
        }

        _permits.Release(1000);
        await Poll.UntilAsync(() => Task.FromResult(plain.Sequences.Count == 6 && stateful.Sequences.Count == 6), "every event to both", ShortLimit);
        Assert.Equal([[1], [2, 3, 4, 5, 6]], plain.Writes.Select(w => w.Sequences));
        Assert.Equal([[1], [2], [3], [4], [5], [6]], stateful.Writes.Select(w => w.Sequences));
        Assert.Equal(0, plain.Aborts + stateful.Aborts);
    }

    [Fact]
    public async Task AStatefulReconnectMemberEndedForAFailedOrLateWriteIsCountedAsDroppedWithItsReason()
    {
        var failing = await JoinAsync(new ScriptedHubMember(ScriptedHubMember.Json, holdWrites: true, statefulReconnect: true));
        var late = await JoinAsync(new ScriptedHubMember(ScriptedHubMember.Json, holdWrites: true, statefulReconnect: true));
        Assert.True(Send(1).IsCompletedSuccessfully);
        await Poll.UntilAsync(() => Task.FromResult(failing.Writes.Count == 1 && late.Writes.Count == 1), "the event's write to both", ShortLimit);

        failing.Writes[0].Fail(new InvalidOperationException("the transport failed"));
        // The member is ended first, then its drop is counted: wait for both.
        await Poll.UntilAsync(
            () => Task.FromResult(failing.Aborts == 1 && _rig.Dropped.TotalWith("reason", "transport_failed") >= 1), "the failed member to be ended and counted", ShortLimit);
        Assert.Equal(1, _rig.Dropped.TotalWith("reason", "transport_failed"));
        Assert.Equal(0, late.Aborts);

        // The shared deadline of 8 s with its 1 s window: the held write is cancelled 9 s after it started.
        _rig.Time.Advance(TimeSpan.FromSeconds(10));
        await Poll.UntilAsync(
            () => Task.FromResult(late.Aborts == 1 && _rig.Dropped.TotalWith("reason", "slow_consumer") >= 1), "the late member to be ended and counted", ShortLimit);
        Assert.Equal(1, _rig.Dropped.TotalWith("reason", "slow_consumer"));
        Assert.Equal(1, _rig.Dropped.TotalWith("reason", "transport_failed"));
        Assert.Equal(2, _rig.Dropped.TotalWith("transport", "signalr"));
        // Each ended member is logged with what ended it, after its drop is counted.
        await Poll.UntilAsync(() => Task.FromResult(_rig.Logged(4006).Length == 2), "both ended members to be logged", ShortLimit);
        var ended = _rig.Logged(4006);
        Assert.Contains(ended, e => e.Exception is InvalidOperationException);
        Assert.Contains(ended, e => e.Exception is OperationCanceledException);
        Assert.All(ended, e => Assert.Equal(LogLevel.Warning, e.Level));
    }

    public void Dispose()
    {
        // A failed test may leave the drain waiting for a permit: let it go.
        _permits.Release(100_000);
        _permits.Dispose();
        _rig.Dispose();
    }

    private Task<ScriptedHubMember> JoinAsync(ScriptedHubMember member) => _rig.JoinAsync(member);

    /// <summary>Sends event 1 and waits until its write holds the drain, so that later events queue up behind it.</summary>
    private async Task HoldTheDrainAsync(ScriptedHubMember member)
    {
        Assert.True(Send(1).IsCompletedSuccessfully);
        await Poll.UntilAsync(() => Task.FromResult(member.Writes.Count == 1), "the first write to start", ShortLimit);
    }

    private ValueTask Send(long sequence) => _rig.Send(sequence);
}
