using System.Globalization;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Felix.Server.Streaming;
using MessagePack;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Felix.Server.Scaleout;

/// <summary>
/// The scale-out broker's log: one Redis Stream per workflow, appended to and published to every node in one Lua script
/// (one round trip per event), so every node reads the same positions and hears of every event. The stream assigns the
/// next sequence itself (entry ids <c>0-{sequence}</c>, so appends from two nodes in a takeover never share one); the
/// epoch is set with the first event. The stored body leaves out the position, which is filled in on read. A Redis that
/// lost its data starts new epochs.
/// </summary>
internal sealed class RedisEventLog(RedisConnection redis, ScaleoutSignals signals, IOptions<StreamingOptions> options) : IEventLog
{
    // The write rules of IEventLog (nothing after the terminal event, no write from a stale run) are checked in the same
    // script as the append, so no other node's write can come between the check and the append. The position hash is
    // written only when it changes (first event, higher fence, terminal event): a typical event costs the script a read,
    // the append and the publish.
    private const string AppendScript = """
        local state = redis.call('HMGET', KEYS[1], 'ended', 'fence', 'epoch')
        if state[1] then return redis.error_reply('FELIX_ENDED') end
        local fence = tonumber(ARGV[4])
        local current = tonumber(state[2] or '0')
        if fence > 0 and fence < current then return redis.error_reply('FELIX_STALE') end
        local seq = string.sub(redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], '0-*', 'e', ARGV[2]), 3)
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
        return { epoch, seq }
        """;

    private const string StateScript = """
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        if not epoch then return false end
        local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
        local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
        if #first == 0 then return { epoch, '', '' } end
        return { epoch, first[1][1], last[1][1] }
        """;

    private const string ReadScript = """
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        if not epoch then return false end
        local entries = redis.call('XRANGE', KEYS[2], '(0-' .. ARGV[1], '+', 'COUNT', ARGV[2])
        local out = { epoch }
        for i, entry in ipairs(entries) do
            out[#out + 1] = entry[1]
            out[#out + 1] = entry[2][2]
        end
        return out
        """;

    private readonly int _maxEvents = options.Value.MaxEventsPerWorkflow;

    public async ValueTask AppendAsync(WorkflowEvent evt, long fence = 0, CancellationToken cancellationToken = default)
    {
        var body = MessagePackSerializer.Serialize(evt, FelixSerialization.MessagePackOptions, CancellationToken.None);
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

        evt.Epoch = (string)result[0]!;
        evt.Sequence = long.Parse((string)result[1]!, CultureInfo.InvariantCulture);
        evt.EventId = EventIds.Format(evt.Epoch, evt.Sequence);
        if (evt.IsTerminal)
        {
            await ReleaseOwnershipAsync(evt.WorkflowId);
        }
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

    private static long SequenceOf(string entryId) =>
        long.Parse(entryId.AsSpan(entryId.IndexOf('-', StringComparison.Ordinal) + 1), CultureInfo.InvariantCulture);
}
