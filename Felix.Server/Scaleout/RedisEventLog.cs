using System.Globalization;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Felix.Server.Streaming;
using MessagePack;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Felix.Server.Scaleout;

/// <summary>
/// Histories in Redis, one Redis Stream per workflow, so every node reads the same positions. A Lua script assigns the
/// next sequence, sets the epoch with the first event and adds the entry as one step, so appends from two nodes (a
/// takeover) never share a sequence. Entry ids are <c>0-{sequence}</c>; the stored body leaves out the position, which
/// is filled in from the entry id and the epoch on read. A Redis that lost its data starts new epochs.
/// </summary>
internal sealed class RedisEventLog(RedisConnection redis, IOptions<StreamingOptions> options) : IEventLog
{
    // The write rules of IEventLog (nothing after the terminal event, no write from a stale run) are checked in the
    // same script as the append, so no other node's write can come between the check and the append.
    private const string AppendScript = """
        if redis.call('HGET', KEYS[1], 'ended') then return redis.error_reply('FELIX_ENDED') end
        local fence = tonumber(ARGV[4])
        if fence > 0 then
            local current = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
            if fence < current then return redis.error_reply('FELIX_STALE') end
            if fence > current then redis.call('HSET', KEYS[1], 'fence', fence) end
        end
        redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
        local seq = redis.call('HINCRBY', KEYS[1], 'last', 1)
        redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], '0-' .. seq, 'e', ARGV[2])
        if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'ended', 1) end
        return { redis.call('HGET', KEYS[1], 'epoch'), seq }
        """;

    private const string StateScript = """
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        if not epoch then return false end
        local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
        local firstId = ''
        if #first > 0 then firstId = first[1][1] end
        return { epoch, redis.call('HGET', KEYS[1], 'last'), firstId }
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
                [EventIds.NewEpoch(), body, _maxEvents, fence, evt.IsTerminal ? 1 : 0]))!;
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
        evt.Sequence = (long)result[1];
        evt.EventId = EventIds.Format(evt.Epoch, evt.Sequence);
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
        var last = long.Parse((string)parts[1]!, CultureInfo.InvariantCulture);
        var firstId = (string)parts[2]!;
        var first = firstId.Length == 0 ? last + 1 : SequenceOf(firstId);
        return new StreamState((string)parts[0]!, last, first);
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
