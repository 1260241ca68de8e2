namespace Felix.Server.Scaleout;

/// <summary>
/// The shared queue, fair between tenants: one list of waiting workflows per tenant and a list of turns (each tenant
/// with work waiting, once). A take pops the next tenant's oldest workflow and puts the tenant back at the end of the
/// turns while it has more, so a tenant's first workflow waits behind at most one workflow of every other tenant.
/// </summary>
/// <remarks>The tenant lists are named from the prefix inside the scripts: one Redis, not a cluster.</remarks>
internal static class RedisQueueScripts
{
    /// <summary>
    /// KEYS: tenant list, turns, owners. ARGV: workflow id, tenant, <c>front</c> (taken next) or <c>back</c>, this node's
    /// id. A node holds a workflow (as its owner) from the moment it stores it, lets it go on with a decision, or claims
    /// it from a dead node, until it is on the queue: only the holder queues it (0 when this node does not hold it: it is
    /// queued or taken already, or another node claimed it), and the hold is let go in the same step as the push, after
    /// it, so a node that dies or fails in between leaves a workflow that is held or queued, never one that nobody holds
    /// and nothing will take (a script that fails half-way keeps what it wrote).
    /// </summary>
    public const string Enqueue = """
        if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[4] then return 0 end
        if ARGV[3] == 'front' then redis.call('RPUSH', KEYS[1], ARGV[1]) else redis.call('LPUSH', KEYS[1], ARGV[1]) end
        if not redis.call('LPOS', KEYS[2], ARGV[2]) then redis.call('RPUSH', KEYS[2], ARGV[2]) end
        redis.call('HDEL', KEYS[3], ARGV[1])
        return 1
        """;

    /// <summary>
    /// KEYS: turns, owners, this node's last take. ARGV: this node's id, the tenant lists' key prefix, the last workflow
    /// this node received from a take (<c>-</c> for none) when a take's answer did not reach it, otherwise empty. Takes
    /// the next workflow, records this node as its owner and as the node's last take in the same step; false when
    /// nothing waits. A take whose answer was lost (Redis ran it, the connection failed) left a workflow owned by a live
    /// node that does not know it holds it: the node's next take gets that workflow again, while it still owns it.
    /// </summary>
    public const string Take = """
        if ARGV[3] ~= '' then
            local last = redis.call('GET', KEYS[3])
            if last and last ~= ARGV[3] and redis.call('HGET', KEYS[2], last) == ARGV[1] then return last end
        end
        local tenant = redis.call('LPOP', KEYS[1])
        while tenant do
            local queue = ARGV[2] .. tenant
            local id = redis.call('RPOP', queue)
            if id then
                if redis.call('LLEN', queue) > 0 then redis.call('RPUSH', KEYS[1], tenant) end
                redis.call('HSET', KEYS[2], id, ARGV[1])
                redis.call('SET', KEYS[3], id, 'EX', 86400)
                return id
            end
            tenant = redis.call('LPOP', KEYS[1])
        end
        return false
        """;
}
