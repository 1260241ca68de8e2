using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Felix.Contracts.Events;
using Felix.Server.Observability;
using Microsoft.AspNetCore.Connections.Abstractions;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Felix.Server.Hubs;

/// <summary>
/// Group sends that coalesce: the events that queue up for a workflow while its members are being written to go out
/// as one write per member, the hub messages one after another in one buffer (SignalR's framing delimits each, and its
/// transport sends several per WebSocket message anyway). A group send costs SignalR a locked write and a flush into
/// each member's pipe per event; under a burst this pays them once per batch.
/// </summary>
/// <remarks>
/// Each event goes to the members the group had when it was published, as a group send would (a subscriber that joins
/// later has it from the history). Writes are started in order and not awaited, each with the shared deadline: a member
/// whose write is still blocked then has its connection aborted by SignalR, and a member whose write fails in any other
/// way is aborted here, so no client carries on past a hole (it resumes by sequence). Connections with stateful
/// reconnect get one write per event through a <see cref="StatefulReconnectWriter"/>: their resend buffer counts a write
/// as one message, and the client acknowledges each message. A workflow with more than
/// <see cref="MaxPending"/> events waiting makes its publisher wait, as the inline group send did.
/// </remarks>
internal sealed partial class GroupSendCoalescer(
    GroupMembership<WorkflowHub> membership,
    SharedDeadline deadline,
    FelixMetrics metrics,
    ILogger<GroupSendCoalescer> logger)
{
    /// <summary>
    /// A batch stops at about this many bytes (estimated before serialising from the event's text) or at
    /// <see cref="MaxBatchEvents"/>: one write stays near a pipe's default pause threshold.
    /// </summary>
    private const int MaxBatchBytes = 64 * 1024;
    private const int MaxBatchEvents = 256;

    /// <summary>The <c>transport</c> of <c>felix.events.delivered</c> for hub connections.</summary>
    public const string Transport = "signalr";

    /// <summary>Batches one drain writes before it yields its thread to other work (it carries on from the queue).</summary>
    private const int BatchesPerTurn = 16;

    /// <summary>Events waiting for one workflow before its publisher waits for the drain to catch up (to half).</summary>
    internal const int MaxPending = 16 * 1024;

    private readonly ConcurrentDictionary<string, GroupQueue> _queues = new(StringComparer.Ordinal);
    private readonly ConditionalWeakTable<HubConnectionContext, StatefulReconnectWriter> _statefulWriters = new();
    private readonly FelixMetrics _metrics = metrics;
    private readonly ILogger _logger = logger;

    /// <summary>Queues the event for the group's current members; completes at once unless the workflow is far behind.</summary>
    public ValueTask SendAsync(string groupName, string method, WorkflowEvent evt) =>
        Enqueue(groupName, method, evt, evt.WorkflowId, evt.Sequence, EstimatedBytes(evt));

    /// <summary>
    /// Queues a message that is not an event (it has no sequence) for the group's current members, after every event
    /// queued before it.
    /// </summary>
    public ValueTask SendNoticeAsync(string groupName, string method, object notice, string workflowId) =>
        Enqueue(groupName, method, notice, workflowId, sequence: 0, bytes: 1024);

    private ValueTask Enqueue(string groupName, string method, object argument, string workflowId, long sequence, int bytes)
    {
        var members = membership.Members(groupName);
        if (members.Length == 0)
        {
            return ValueTask.CompletedTask;
        }

        var send = new PendingSend(method, argument, workflowId, sequence, bytes, members);
        while (true)
        {
            // A queue closes when a drain leaves it empty; a sender that still held it takes a new one.
            if (_queues.GetOrAdd(groupName, static (name, self) => new GroupQueue(name, self), this).TryEnqueue(send, out var room))
            {
                return room;
            }
        }
    }

    private static int EstimatedBytes(WorkflowEvent evt) => 256 + evt switch
    {
        AgentOutputDeltaEvent delta => delta.Delta.Length,
        AgentReasoningDeltaEvent delta => delta.Delta.Length,
        AgentOutputEvent output => output.Content.Length,
        _ => 768,
    };

    /// <summary>One message for the group: its argument (an event, or a notice with sequence 0) and its size, estimated.</summary>
    private readonly record struct PendingSend(
        string Method, object Argument, string WorkflowId, long Sequence, int Bytes, HubConnectionContext[] Members);

    /// <summary>One workflow's sends: queued by the publisher, written by one drain at a time, in order.</summary>
    private sealed class GroupQueue(string groupName, GroupSendCoalescer owner) : IThreadPoolWorkItem
    {
        private readonly Lock _lock = new();
        private readonly Queue<PendingSend> _pending = new();
        private readonly List<PendingSend> _batch = [];
        private TaskCompletionSource? _room;
        private bool _draining;
        private bool _closed;

        /// <summary>False when the queue has closed; otherwise <paramref name="room"/> completes once there is room.</summary>
        public bool TryEnqueue(PendingSend send, out ValueTask room)
        {
            room = ValueTask.CompletedTask;
            lock (_lock)
            {
                if (_closed)
                {
                    return false;
                }

                _pending.Enqueue(send);
                if (_pending.Count > MaxPending)
                {
                    _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    room = new ValueTask(_room.Task);
                }

                if (_draining)
                {
                    return true;
                }

                _draining = true;
            }

            // On the publishing thread's own queue: it runs when that thread is next free, not behind every transport
            // send the last batch woke (JSON fan-out p99 at half the max rate 48.8 -> 36.9-43.4 ms in isolated runs).
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
            return true;
        }

        public void Execute()
        {
            for (var batches = 0; batches < BatchesPerTurn; batches++)
            {
                if (!TakeBatch())
                {
                    return;
                }

                try
                {
                    owner.Write(_batch);
                }
                catch (Exception ex)
                {
                    // Write reports its own failures; this is the last guard of a thread-pool item.
                    LogDrainFailed(owner._logger, ex, groupName);
                }
            }

            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        /// <summary>
        /// The next events that share their members, up to the caps. When none is left the queue closes and leaves the
        /// map, all under the lock, so an event is either taken by this drain or refused to its sender.
        /// </summary>
        private bool TakeBatch()
        {
            _batch.Clear();
            TaskCompletionSource? room = null;
            lock (_lock)
            {
                var bytes = 0;
                while (_batch.Count < MaxBatchEvents && bytes < MaxBatchBytes && _pending.TryPeek(out var next)
                    && (_batch.Count == 0 || ReferenceEquals(next.Members, _batch[0].Members)))
                {
                    _batch.Add(_pending.Dequeue());
                    bytes += next.Bytes;
                }

                if (_room is not null && _pending.Count <= MaxPending / 2)
                {
                    (room, _room) = (_room, null);
                }

                if (_batch.Count == 0)
                {
                    _draining = false;
                    _closed = true;
                    owner._queues.TryRemove(new KeyValuePair<string, GroupQueue>(groupName, this));
                }
            }

            room?.SetResult();
            return _batch.Count > 0;
        }

    }

    private void Write(List<PendingSend> batch)
    {
        _metrics.EventsPerWrite(batch.Count);
        var token = deadline.Token;
        var failures = new BatchFailures(this, batch[0].WorkflowId, batch[0].Sequence);
        List<ProtocolMessages>? made = null;
        // felix.events.delivered counts events (not notices) once a member's write of them has succeeded.
        var events = 0;
        foreach (var send in batch)
        {
            events += send.Sequence == 0 ? 0 : 1;
        }

        bool[]? isEvent = null;
        long handed = 0;
        foreach (var member in batch[0].Members)
        {
            var messages = MessagesFor(member.Protocol, batch, ref made);
            if (messages is null)
            {
                // The events could not be serialised for this protocol: the member reconnects and resumes by sequence.
                member.Abort();
                failures.Failed(batch.Count, null);
                continue;
            }

#pragma warning disable CA2252 // IStatefulReconnectFeature is a preview API; only its presence is read
            if (member.Features.Get<IStatefulReconnectFeature>() is null)
#pragma warning restore CA2252
            {
                handed += Observe(member.WriteAsync(messages.Batch, token), member, batch.Count, events, failures);
                continue;
            }

            isEvent ??= batch.Select(s => s.Sequence != 0).ToArray();
            _statefulWriters.GetValue(member, NewStatefulWriter).Enqueue(messages.Singles, isEvent);
        }

        if (handed > 0)
        {
            _metrics.Delivered(Transport, handed);
        }
    }

    private StatefulReconnectWriter NewStatefulWriter(HubConnectionContext member) => new(
        member,
        deadline,
        (missed, ex) =>
        {
            _metrics.Dropped(Transport, ex is OperationCanceledException ? "slow_consumer" : "transport_failed", missed);
            LogStatefulMemberEnded(_logger, ex, member.ConnectionId, missed);
        },
        written => _metrics.Delivered(Transport, written));

    private ProtocolMessages? MessagesFor(IHubProtocol protocol, List<PendingSend> batch, ref List<ProtocolMessages>? made)
    {
        made ??= [];
        foreach (var existing in made)
        {
            if (existing.Protocol == protocol)
            {
                return existing.Failed ? null : existing;
            }
        }

        ProtocolMessages messages;
        try
        {
            messages = new ProtocolMessages(protocol, batch);
        }
        catch (Exception ex)
        {
            LogSerializationFailed(_logger, ex, protocol.Name, batch[0].WorkflowId, batch[0].Sequence);
            messages = ProtocolMessages.FailedFor(protocol);
        }

        made.Add(messages);
        return messages.Failed ? null : messages;
    }

    /// <summary>The events handed to the member now; a write still pending counts them itself once it succeeds.</summary>
    private int Observe(ValueTask write, HubConnectionContext member, int messages, int events, BatchFailures failures)
    {
        if (write.IsCompletedSuccessfully)
        {
            return events;
        }

        _ = ObserveAsync(write.AsTask(), member, messages, events, failures);
        return 0;
    }

    private async Task ObserveAsync(Task write, HubConnectionContext member, int messages, int events, BatchFailures failures)
    {
        try
        {
            await write;
            if (events > 0)
            {
                _metrics.Delivered(Transport, events);
            }
        }
        catch (Exception ex)
        {
            // A write cancelled while it waited for the connection's write lock is dropped by SignalR without touching
            // the connection; ending it here makes the client resume by sequence rather than go on past the hole.
            member.Abort();
            failures.Failed(messages, ex);
        }
    }

    /// <summary>Counts every member's missed events, and logs a batch's failures once rather than once per member.</summary>
    private sealed class BatchFailures(GroupSendCoalescer owner, string workflowId, long sequence)
    {
        private int _logged;

        public void Failed(int events, Exception? ex)
        {
            owner._metrics.Dropped("signalr", ex is OperationCanceledException ? "slow_consumer" : "transport_failed", events);
            if (ex is not null && Interlocked.Exchange(ref _logged, 1) == 0)
            {
                LogSendFailed(owner._logger, ex, workflowId, sequence);
            }
        }
    }

    /// <summary>A batch serialised for one protocol: all its messages in one buffer, and each on its own when needed.</summary>
    private sealed class ProtocolMessages
    {
        private readonly ReadOnlyMemory<byte>[] _bytes = [];
        private SerializedHubMessage[]? _singles;

        public ProtocolMessages(IHubProtocol protocol, List<PendingSend> batch)
        {
            Protocol = protocol;
            // All messages written straight into one buffer; each event's own message is a slice of it.
            var buffer = new ArrayBufferWriter<byte>(batch.Count * 256);
            var bytes = new ReadOnlyMemory<byte>[batch.Count];
            var ends = new int[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                protocol.WriteMessage(new InvocationMessage(batch[i].Method, [batch[i].Argument]), buffer);
                ends[i] = buffer.WrittenCount;
            }

            var all = buffer.WrittenMemory;
            for (var i = 0; i < batch.Count; i++)
            {
                var start = i == 0 ? 0 : ends[i - 1];
                bytes[i] = all[start..ends[i]];
            }

            _bytes = bytes;
            Batch = new SerializedHubMessage([new SerializedMessage(protocol.Name, all)]);
        }

        private ProtocolMessages(IHubProtocol protocol)
        {
            Protocol = protocol;
            Failed = true;
            Batch = null!;
        }

        public static ProtocolMessages FailedFor(IHubProtocol protocol) => new(protocol);

        public IHubProtocol Protocol { get; }

        public bool Failed { get; }

        public SerializedHubMessage Batch { get; }

        /// <summary>One message per event, made when a member with stateful reconnect needs them (one drain at a time).</summary>
        public SerializedHubMessage[] Singles => _singles ??= _bytes.Length == 1
            ? [Batch]
            : _bytes.Select(b => new SerializedHubMessage([new SerializedMessage(Protocol.Name, b)])).ToArray();
    }

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Hub clients of workflow {WorkflowId} missed events from {Sequence}: slow or failed connections were dropped")]
    private static partial void LogSendFailed(ILogger logger, Exception exception, string workflowId, long sequence);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "Events of workflow {WorkflowId} from {Sequence} could not be serialised for {Protocol}; its clients on that protocol were disconnected to resume")]
    private static partial void LogSerializationFailed(ILogger logger, Exception exception, string protocol, string workflowId, long sequence);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "Hub connection {ConnectionId} (stateful reconnect) was ended after a write failed or passed its deadline; {Missed} events were not sent, the client resumes by sequence")]
    private static partial void LogStatefulMemberEnded(ILogger logger, Exception exception, string connectionId, int missed);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Error, Message = "Writing to the hub group {Group} failed")]
    private static partial void LogDrainFailed(ILogger logger, Exception exception, string group);
}
