namespace Felix.Server.Scaleout;

/// <summary>
/// A workflow record and its indexes change in one step, so a listing by status never misses a workflow that a node
/// stopped between writing its record and moving it from one status index to another.
/// </summary>
internal static class RedisWorkflowScripts
{
    /// <summary>
    /// KEYS: record, index, tenant's index, status index, tenant's status index, owners. ARGV: record JSON, workflow id,
    /// score (creation time), the creating node's id (empty: none). 0 when the record exists already. A pending workflow
    /// is held by the node that creates it until that node puts it on the shared queue, so a node that dies in between
    /// leaves it to be taken over like its running work, not pending forever.
    /// </summary>
    public const string Create = """
        if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end
        for i = 2, 5 do redis.call('ZADD', KEYS[i], ARGV[3], ARGV[2]) end
        if ARGV[4] ~= '' then redis.call('HSET', KEYS[6], ARGV[2], ARGV[4]) end
        return 1
        """;

    /// <summary>
    /// Compare-and-set of a record. KEYS: record, events, stream position, old status index, tenant's old status index,
    /// new status index, tenant's new status index, owners. ARGV: the record as the update read it, the new record,
    /// workflow id, score, time to live in seconds (<c>0</c>: none), the id of the node that holds the workflow from now
    /// on (empty: no change; set when a decision lets a parked workflow go on, so it is held until that node queues it),
    /// the id of the node that finishes it (empty: not a finish): the finishing node holds the workflow until its
    /// terminal event releases it, whoever held it before (a queued one nobody, a parked one the node it ran on), so a
    /// node that dies in between leaves it to the dead-node sweep, which appends the end.
    /// 1 when stored; the record as it is now when it changed since it was read; nil when it is gone.
    /// </summary>
    public const string Update = """
        local current = redis.call('GET', KEYS[1])
        if not current then return false end
        if current ~= ARGV[1] then return current end
        redis.call('SET', KEYS[1], ARGV[2])
        if KEYS[4] ~= KEYS[6] then
            redis.call('ZREM', KEYS[4], ARGV[3])
            redis.call('ZREM', KEYS[5], ARGV[3])
            redis.call('ZADD', KEYS[6], ARGV[4], ARGV[3])
            redis.call('ZADD', KEYS[7], ARGV[4], ARGV[3])
        end
        if ARGV[5] ~= '0' then
            for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[5]) end
        end
        if ARGV[6] ~= '' then redis.call('HSET', KEYS[8], ARGV[3], ARGV[6]) end
        if ARGV[7] ~= '' then redis.call('HSET', KEYS[8], ARGV[3], ARGV[7]) end
        return 1
        """;
}
