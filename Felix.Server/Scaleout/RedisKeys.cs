using StackExchange.Redis;

namespace Felix.Server.Scaleout;

/// <summary>Every Redis key and channel name, built in one place from the deployment's prefix.</summary>
internal sealed class RedisKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    /// <summary>The workflow's events: a Redis Stream whose entry ids are <c>0-{sequence}</c>.</summary>
    public RedisKey Events(string workflowId) => $"{Prefix}:wf:{{{workflowId}}}:events";

    /// <summary>The workflow's stream position: a hash of <c>epoch</c> and <c>last</c>, kept beside its events.</summary>
    public RedisKey Position(string workflowId) => $"{Prefix}:wf:{{{workflowId}}}:position";

    /// <summary>A workflow record (JSON).</summary>
    public RedisKey Workflow(string workflowId) => $"{Prefix}:wf:{{{workflowId}}}:record";

    /// <summary>Every workflow id, scored by creation time (Unix milliseconds).</summary>
    public RedisKey WorkflowIndex => $"{Prefix}:workflows";

    /// <summary>One tenant's workflow ids, scored by creation time: a tenant's listing reads only its own.</summary>
    public RedisKey OwnerIndex(string owner) => $"{Prefix}:workflows:owner:{owner}";

    /// <summary>Every workflow id in one status, scored by creation time: a status listing reads only these.</summary>
    public RedisKey StatusIndex(string status) => $"{Prefix}:workflows-by-status:{status}";

    /// <summary>One tenant's workflow ids in one status, scored by creation time.</summary>
    public RedisKey OwnerStatusIndex(string owner, string status) => $"{Prefix}:workflows-by-status:{status}:owner:{owner}";

    /// <summary>Present once the status indexes hold every workflow stored before they existed.</summary>
    public RedisKey StatusIndexesBuilt => $"{Prefix}:workflows-by-status:built";

    /// <summary>One tenant's pending workflows no node has taken yet (a list: pushed left, popped right).</summary>
    public RedisKey TenantQueue(string tenant) => TenantQueuePrefix + tenant;

    /// <summary>What <see cref="TenantQueue"/> puts before the tenant (the take script builds the key from it).</summary>
    public string TenantQueuePrefix => $"{Prefix}:queue:";

    /// <summary>The tenants with pending workflows, in the order they take turns (see <see cref="RedisQueueScripts"/>).</summary>
    public RedisKey QueueTurns => $"{Prefix}:queue-turns";

    /// <summary>Which node took which workflow: workflow id -> node id.</summary>
    public RedisKey Owners => $"{Prefix}:owners";

    /// <summary>A node's lease: present while the node is alive.</summary>
    public RedisKey NodeLease(string nodeId) => $"{Prefix}:node:{nodeId}";

    /// <summary>The workflow a node last took from the shared queue (see <see cref="RedisQueueScripts.Take"/>).</summary>
    public RedisKey LastTake(string nodeId) => $"{Prefix}:node:{nodeId}:last-take";

    /// <summary>Every workflow event, as the append script publishes it (<see cref="NodeFeedMessage"/>).</summary>
    public RedisChannel EventsChannel => RedisChannel.Literal($"{Prefix}:events");

    /// <summary>Every node's system events.</summary>
    public RedisChannel SystemChannel => RedisChannel.Literal($"{Prefix}:system");

    public RedisChannel WorkChannel => RedisChannel.Literal($"{Prefix}:work");

    public RedisChannel CancelChannel => RedisChannel.Literal($"{Prefix}:cancel");

    public RedisChannel CancelledChannel => RedisChannel.Literal($"{Prefix}:cancelled");
}
