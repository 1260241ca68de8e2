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
    /// id. A node holds a workflow (as its owner) from the moment it stores it, or claims it from a dead node, until it is
    /// on the queue: the hold is let go in the same step as the push, so a node that dies in between leaves a workflow
    /// that a surviving node takes over, never one that nobody holds and nothing will take.
    /// </summary>
    public const string Enqueue = """
        if redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[4] then redis.call('HDEL', KEYS[3], ARGV[1]) end
        if ARGV[3] == 'front' then redis.call('RPUSH', KEYS[1], ARGV[1]) else redis.call('LPUSH', KEYS[1], ARGV[1]) end
        if not redis.call('LPOS', KEYS[2], ARGV[2]) then redis.call('RPUSH', KEYS[2], ARGV[2]) end
        return 1
        """;

    /// <summary>
    /// KEYS: turns, owners. ARGV: this node's id, the tenant lists' key prefix. Takes the next workflow and records
    /// this node as its owner in the same step; false when nothing waits.
    /// </summary>
    public const string Take = """
        local tenant = redis.call('LPOP', KEYS[1])
        while tenant do
            local queue = ARGV[2] .. tenant
            local id = redis.call('RPOP', queue)
            if id then
                if redis.call('LLEN', queue) > 0 then redis.call('RPUSH', KEYS[1], tenant) end
                redis.call('HSET', KEYS[2], id, ARGV[1])
                return id
            end
            tenant = redis.call('LPOP', KEYS[1])
        end
        return false
        """;
}
