using System.Collections.Concurrent;
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
/// whose write is still blocked then has its connection aborted by SignalR. Connections with stateful reconnect get
/// one write per event: their resend buffer counts a write as one message, and the client acknowledges each message.
/// </remarks>
internal sealed partial class GroupSendCoalescer(
    GroupMembership<WorkflowHub> membership,
    SharedDeadline deadline,
    FelixMetrics metrics,
    ILogger<GroupSendCoalescer> logger)
{
    /// <summary>
    /// A batch stops at about this many bytes (estimated before serialising: a delta's text plus its envelope, 1 KiB for
    /// other events) or at <see cref="MaxBatchEvents"/>: one write stays the size of a pipe's default pause threshold.
    /// </summary>
    private const int MaxBatchBytes = 64 * 1024;
    private const int MaxBatchEvents = 256;

    private readonly ConcurrentDictionary<string, GroupQueue> _queues = new(StringComparer.Ordinal);

    public void Send(string groupName, string method, WorkflowEvent evt)
    {
        var members = membership.Members(groupName);
        if (members.Length == 0)
        {
            return;
        }

        _queues.GetOrAdd(groupName, static (name, self) => new GroupQueue(name, self), this)
            .Enqueue(new PendingSend(method, evt, members));
    }

    private void Forget(GroupQueue queue) => _queues.TryRemove(new KeyValuePair<string, GroupQueue>(queue.GroupName, queue));

    private readonly record struct PendingSend(string Method, WorkflowEvent Event, HubConnectionContext[] Members);

    /// <summary>One workflow's sends: queued by the publisher, written by one drain at a time, in order.</summary>
    private sealed class GroupQueue(string groupName, GroupSendCoalescer owner) : IThreadPoolWorkItem
    {
        private readonly ConcurrentQueue<PendingSend> _pending = new();
        private readonly List<PendingSend> _batch = [];
        private int _draining;

        public string GroupName { get; } = groupName;

        public void Enqueue(PendingSend send)
        {
            _pending.Enqueue(send);
            if (Interlocked.Exchange(ref _draining, 1) == 0)
            {
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }
        }

        public void Execute()
        {
            while (true)
            {
                var ended = false;
                while (TakeBatch())
                {
                    ended |= _batch[^1].Event.IsTerminal;
                    owner.Write(_batch);
                }

                // A workflow's stream ends with its terminal event; a queue left behind would be kept for nothing.
                if (ended)
                {
                    owner.Forget(this);
                }

                Volatile.Write(ref _draining, 0);
                if (_pending.IsEmpty || Interlocked.Exchange(ref _draining, 1) == 1)
                {
                    return;
                }
            }
        }

        /// <summary>The next events that share their members, up to the caps; false when none is waiting.</summary>
        private bool TakeBatch()
        {
            _batch.Clear();
            var bytes = 0;
            while (_batch.Count < MaxBatchEvents && _pending.TryPeek(out var next)
                && (_batch.Count == 0 || (ReferenceEquals(next.Members, _batch[0].Members) && bytes < MaxBatchBytes)))
            {
                _pending.TryDequeue(out _);
                _batch.Add(next);
                bytes += next.Event is AgentOutputDeltaEvent delta ? delta.Delta.Length + 200 : 1024;
            }

            return _batch.Count > 0;
        }
    }

    private void Write(List<PendingSend> batch)
    {
        var members = batch[0].Members;
        metrics.EventsPerWrite(batch.Count);
        List<ProtocolMessages>? protocols = null;
        try
        {
            var token = deadline.Token;
            foreach (var member in members)
            {
                var messages = MessagesFor(member.Protocol, batch, ref protocols);
#pragma warning disable CA2252 // IStatefulReconnectFeature is a preview API; only its presence is read
                if (member.Features.Get<IStatefulReconnectFeature>() is null)
#pragma warning restore CA2252
                {
                    Observe(member.WriteAsync(messages.Batch, token), batch[0].Event);
                    continue;
                }

                foreach (var single in messages.Singles)
                {
                    Observe(member.WriteAsync(single, token), batch[0].Event);
                }
            }
        }
        catch (Exception ex)
        {
            // Serialising failed: nobody got these events, and the next batch must still go out.
            metrics.Dropped("signalr", "transport_failed", batch.Count);
            LogSendFailed(logger, ex, batch[0].Event.WorkflowId, batch[0].Event.Sequence);
        }
    }

    private static ProtocolMessages MessagesFor(IHubProtocol protocol, List<PendingSend> batch, ref List<ProtocolMessages>? made)
    {
        made ??= [];
        foreach (var existing in made)
        {
            if (existing.Protocol == protocol)
            {
                return existing;
            }
        }

        var messages = new ProtocolMessages(protocol, batch);
        made.Add(messages);
        return messages;
    }

    private void Observe(ValueTask write, WorkflowEvent first)
    {
        if (!write.IsCompletedSuccessfully)
        {
            _ = ObserveAsync(write.AsTask(), first);
        }
    }

    private async Task ObserveAsync(Task write, WorkflowEvent first)
    {
        try
        {
            await write;
        }
        catch (Exception ex)
        {
            // SignalR has already aborted the connection that could not take the events.
            metrics.Dropped("signalr", ex is OperationCanceledException ? "slow_consumer" : "transport_failed");
            LogSendFailed(logger, ex, first.WorkflowId, first.Sequence);
        }
    }

    /// <summary>A batch serialised for one protocol: all its messages in one buffer, and each on its own when needed.</summary>
    private sealed class ProtocolMessages
    {
        public ProtocolMessages(IHubProtocol protocol, List<PendingSend> batch)
        {
            Protocol = protocol;
            var bytes = new ReadOnlyMemory<byte>[batch.Count];
            var length = 0;
            for (var i = 0; i < batch.Count; i++)
            {
                bytes[i] = protocol.GetMessageBytes(new InvocationMessage(batch[i].Method, [batch[i].Event]));
                length += bytes[i].Length;
            }

            _bytes = bytes;
            if (bytes.Length == 1)
            {
                Batch = new SerializedHubMessage([new SerializedMessage(protocol.Name, bytes[0])]);
                return;
            }

            var all = new byte[length];
            var offset = 0;
            foreach (var b in bytes)
            {
                b.Span.CopyTo(all.AsSpan(offset));
                offset += b.Length;
            }

            Batch = new SerializedHubMessage([new SerializedMessage(protocol.Name, all)]);
        }

        private readonly ReadOnlyMemory<byte>[] _bytes;
        private SerializedHubMessage[]? _singles;

        public IHubProtocol Protocol { get; }

        public SerializedHubMessage Batch { get; }

        /// <summary>One message per event, made when a member with stateful reconnect needs them (one drain at a time).</summary>
        public SerializedHubMessage[] Singles => _singles ??= _bytes.Length == 1
            ? [Batch]
            : _bytes.Select(b => new SerializedHubMessage([new SerializedMessage(Protocol.Name, b)])).ToArray();
    }

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Hub clients of workflow {WorkflowId} missed events from {Sequence}: slow or failed connections were dropped")]
    private static partial void LogSendFailed(ILogger logger, Exception exception, string workflowId, long sequence);
}
