using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Felix.Server.Streaming;
using MessagePack;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Felix.Server.Scaleout;

/// <summary>
/// The scale-out broker's log: one Redis Stream per workflow, appended to and published to every node. The stream assigns
/// positions: entry ids are <c>{fence}-{sequence}</c>, the fencing token of the writing run (never lower than the entry
/// before's) and then the sequence, so Redis itself refuses an entry that does not come after the stream's last one. The
/// epoch is set with the first event. The stored body leaves out the position, which is filled in on read. A Redis that
/// lost its data starts new epochs.
/// </summary>
/// <remarks>
/// Two ways in, one set of rules. A writer's next event, when the stream's last entry is still the one this log wrote
/// for the same writer (same fence), is a plain <c>XADD</c> of the id right after it, followed by a <c>PUBLISH</c> that
/// is not awaited: Redis accepts that id only when nothing came in between (another node's write, a newer attempt, a
/// cancel), and refuses it otherwise, so the rules of <see cref="IEventLog"/> hold without reading anything. Every other
/// append (a stream's first event, another writer's, a higher fence, a terminal event, a refused fast append, the first
/// after a lost connection) goes through one Lua script that checks those rules, appends and publishes in one step.
/// Either way the publishing node makes one round trip per event.
/// </remarks>
internal sealed class RedisEventLog(RedisConnection redis, ScaleoutSignals signals, IOptions<StreamingOptions> options) : IEventLog
{
    // The write rules of IEventLog (nothing after the terminal event, no write from a stale run) are checked in the same
    // script as the append, so no other node's write can come between the check and the append. The position hash is
    // written only when it changes (first event, higher fence, terminal event). The new entry's id keeps the fence part of
    // the last one unless this write raises it, so a run's fast append after another writer's entry is refused by Redis.
    // Retention trims a stream at its terminal event only: a running workflow's history is its checkpoint.
    private const string AppendScript = """
        local state = redis.call('HMGET', KEYS[1], 'ended', 'fence', 'epoch')
        if state[1] then return redis.error_reply('FELIX_ENDED') end
        local fence = tonumber(ARGV[4])
        if fence > 0 and not state[3] then return redis.error_reply('FELIX_LOST') end
        local current = tonumber(state[2] or '0')
        if fence > 0 and fence < current then return redis.error_reply('FELIX_STALE') end
        local part, seq = 0, 0
        local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
        if #last > 0 then
            local id = last[1][1]
            local dash = string.find(id, '-', 1, true)
            part = tonumber(string.sub(id, 1, dash - 1))
            seq = tonumber(string.sub(id, dash + 1))
        end
        if fence > part then part = fence end
        seq = seq + 1
        redis.call('XADD', KEYS[2], string.format('%d-%d', part, seq), 'e', ARGV[2])
        if ARGV[5] == '1' then redis.call('XTRIM', KEYS[2], 'MAXLEN', ARGV[3]) end
        local epoch = state[3]
        local changed = {}
        if not epoch then
            epoch = ARGV[1]
            changed[#changed + 1] = 'epoch'
            changed[#changed + 1] = epoch
        end
        if fence > current then
            changed[#changed + 1] = 'fence'
            changed[#changed + 1] = fence
        end
        if ARGV[5] == '1' then
            changed[#changed + 1] = 'ended'
            changed[#changed + 1] = 1
        end
        if #changed > 0 then redis.call('HSET', KEYS[1], unpack(changed)) end
        redis.call('PUBLISH', ARGV[6], ARGV[7] .. seq .. '\n' .. epoch .. '\n' .. ARGV[2])
        return { epoch, tostring(seq), tostring(part) }
        """;

    private const string StateScript = """
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        if not epoch then return false end
        local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
        local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
        if #first == 0 then return { epoch, '', '' } end
        return { epoch, first[1][1], last[1][1] }
        """;

    // Entries after a sequence: the first one is found by stepping through the fence parts of the ids (a stream has one
    // per run attempt that wrote to it, and a sequence never repeats), then one range read from there.
    private const string ReadScript = """
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        if not epoch then return false end
        local after = ARGV[1]
        local part = '0'
        local start = nil
        while not start do
            local next = redis.call('XRANGE', KEYS[2], '(' .. part .. '-' .. after, '+', 'COUNT', 1)
            if #next == 0 then return { epoch } end
            local id = next[1][1]
            local dash = string.find(id, '-', 1, true)
            if tonumber(string.sub(id, dash + 1)) > tonumber(after) then
                start = id
            else
                part = string.sub(id, 1, dash - 1)
            end
        end
        local entries = redis.call('XRANGE', KEYS[2], start, '+', 'COUNT', ARGV[2])
        local out = { epoch }
        for i, entry in ipairs(entries) do
            out[#out + 1] = entry[1]
            out[#out + 1] = entry[2][2]
        end
        return out
        """;

    private readonly int _maxEvents = options.Value.MaxEventsPerWorkflow;

    // Per workflow, the last entry this log appended and the fence its writer presented: where that writer's next event
    // may go without the script. Appends of one workflow are serialised by the publisher.
    private readonly ConcurrentDictionary<string, LastAppend> _lastAppends = new(StringComparer.Ordinal);

    private const int MaxRemembered = 10_000;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask AppendAsync(WorkflowEvent evt, long fence = 0, CancellationToken cancellationToken = default)
    {
        var body = MessagePackSerializer.Serialize(evt, FelixSerialization.MessagePackOptions, CancellationToken.None);
        try
        {
            var next = !evt.IsTerminal && _lastAppends.TryGetValue(evt.WorkflowId, out var last) && last.Fence == fence
                ? await TryAppendNextAsync(evt.WorkflowId, last, body)
                : null;
            var appended = next ?? await AppendThroughScriptAsync(evt, fence, body);
            Stamp(evt, appended);
            if (!evt.IsTerminal)
            {
                Remember(evt.WorkflowId, appended);
            }
            else
            {
                _lastAppends.TryRemove(evt.WorkflowId, out _);
            }
        }
        catch
        {
            // Whether an append that failed on the way reached Redis is unknown: the next one reads the stream again.
            _lastAppends.TryRemove(evt.WorkflowId, out _);
            throw;
        }

        if (evt.IsTerminal)
        {
            await ReleaseOwnershipAsync(evt.WorkflowId);
        }
    }

    /// <summary>
    /// Keeps where a writer's next event may go. A stream that ends on another node (a cancel, a takeover) or is only
    /// created here leaves its entry behind, so the entries are bounded: forgetting them costs a script call, not a rule.
    /// </summary>
    private void Remember(string workflowId, LastAppend appended)
    {
        if (!_lastAppends.ContainsKey(workflowId) && _lastAppends.Count >= MaxRemembered)
        {
            _lastAppends.Clear();
        }

        _lastAppends[workflowId] = appended;
    }

    /// <summary>
    /// Appends right after <paramref name="last"/>, or returns null when Redis refuses because the stream moved on, or when
    /// a connection to Redis failed since (a Redis that restarted without its data must not get a stream that starts
    /// in the middle: the script starts it again with a new epoch).
    /// </summary>
    private async Task<LastAppend?> TryAppendNextAsync(string workflowId, LastAppend last, byte[] body)
    {
        if (last.ConnectionFailures != redis.Failures)
        {
            return null;
        }

        var next = last with { Sequence = last.Sequence + 1 };
        try
        {
            await redis.Database.StreamAddAsync(
                redis.Keys.Events(workflowId), "e", body, $"{next.Part}-{next.Sequence}");
        }
        catch (RedisServerException ex) when (ex.Message.Contains("equal or smaller", StringComparison.Ordinal))
        {
            return null;
        }

        // Not awaited: the next append of this workflow goes out after it on the same connection, so other nodes still
        // hear of its events in order; a publish lost on the way is a gap their fan-out fills from the stream.
        await redis.Database.PublishAsync(
            redis.Keys.EventsChannel, NodeFeedMessage.Encode(redis.NodeId, workflowId, next.Sequence, next.Epoch, body), CommandFlags.FireAndForget);
        return next;
    }

    private async Task<LastAppend> AppendThroughScriptAsync(WorkflowEvent evt, long fence, byte[] body)
    {
        // Read before the script: a failure during it makes the next append go through the script again.
        var failures = redis.Failures;
        RedisResult[] result;
        try
        {
            result = (RedisResult[])(await redis.Database.ScriptEvaluateAsync(
                AppendScript,
                [redis.Keys.Position(evt.WorkflowId), redis.Keys.Events(evt.WorkflowId)],
                [EventIds.NewEpoch(), body, _maxEvents, fence, evt.IsTerminal ? 1 : 0,
                    redis.Keys.EventsChannel.ToString(), NodeFeedMessage.Header(redis.NodeId, evt.WorkflowId)]))!;
        }
        catch (RedisServerException ex) when (ex.Message.Contains("FELIX_ENDED", StringComparison.Ordinal))
        {
            throw new AppendRefusedException(evt.WorkflowId, AppendRefusal.StreamEnded);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("FELIX_STALE", StringComparison.Ordinal))
        {
            throw new AppendRefusedException(evt.WorkflowId, AppendRefusal.StaleRun);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("FELIX_LOST", StringComparison.Ordinal))
        {
            throw new AppendRefusedException(evt.WorkflowId, AppendRefusal.StreamLost);
        }

        return new LastAppend(
            fence,
            long.Parse((string)result[2]!, CultureInfo.InvariantCulture),
            long.Parse((string)result[1]!, CultureInfo.InvariantCulture),
            (string)result[0]!,
            failures);
    }

    private static void Stamp(WorkflowEvent evt, LastAppend appended)
    {
        evt.Epoch = appended.Epoch;
        evt.Sequence = appended.Sequence;
        evt.EventId = EventIds.Format(evt.Epoch, evt.Sequence);
    }

    /// <summary>
    /// Once per workflow, after its terminal event: the node lets go of it, and its freed slot may take more shared work.
    /// The event is stored whatever happens here; an owner entry left behind names a finished workflow, which the dead
    /// node sweep only removes.
    /// </summary>
    private async Task ReleaseOwnershipAsync(string workflowId)
    {
        try
        {
            await redis.Database.HashDeleteAsync(redis.Keys.Owners, workflowId);
        }
        catch (RedisException)
        {
        }

        signals.WakeQueue();
    }

    public async ValueTask<StreamState?> GetStateAsync(string workflowId, CancellationToken cancellationToken = default)
    {
        var result = await redis.Database.ScriptEvaluateAsync(
            StateScript, [redis.Keys.Position(workflowId), redis.Keys.Events(workflowId)]);
        if (result.IsNull || result.Resp2Type != ResultType.Array)
        {
            return null;
        }

        var parts = (RedisResult[])result!;
        var firstId = (string)parts[1]!;
        if (firstId.Length == 0)
        {
            return null;
        }

        return new StreamState((string)parts[0]!, SequenceOf((string)parts[2]!), SequenceOf(firstId));
    }

    public async ValueTask<HistoryPage> ReadAsync(string workflowId, long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        var result = await redis.Database.ScriptEvaluateAsync(
            ReadScript,
            [redis.Keys.Position(workflowId), redis.Keys.Events(workflowId)],
            [Math.Max(0, afterSequence), Math.Max(1, limit)]);
        if (result.IsNull || result.Resp2Type != ResultType.Array)
        {
            return HistoryPage.Empty;
        }

        var parts = (RedisResult[])result!;
        var epoch = (string)parts[0]!;
        var events = new List<WorkflowEvent>((parts.Length - 1) / 2);
        for (var i = 1; i + 1 < parts.Length; i += 2)
        {
            var evt = MessagePackSerializer.Deserialize<WorkflowEvent>((byte[])parts[i + 1]!, FelixSerialization.MessagePackOptions, cancellationToken);
            evt.Sequence = SequenceOf((string)parts[i]!);
            evt.Epoch = epoch;
            evt.EventId = EventIds.Format(epoch, evt.Sequence);
            events.Add(evt);
        }

        var truncated = events.Count > 0 && events[0].Sequence > Math.Max(0, afterSequence) + 1;
        return new HistoryPage(events, truncated);
    }

    /// <summary>
    /// An entry this log appended: the fence its writer presented, the fence part of its id (the writer's fence, or for a
    /// write outside a run the part of the entry before), its sequence, the stream's epoch, and the connection failures
    /// counted when it was written.
    /// </summary>
    private readonly record struct LastAppend(long Fence, long Part, long Sequence, string Epoch, long ConnectionFailures);

    private static long SequenceOf(string entryId) =>
        long.Parse(entryId.AsSpan(entryId.IndexOf('-', StringComparison.Ordinal) + 1), CultureInfo.InvariantCulture);
}
