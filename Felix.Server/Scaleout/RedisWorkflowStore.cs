using System.Globalization;
using System.Text.Json;
using Felix.Contracts.Serialization;
using Felix.Contracts;
using Felix.Server.Storage;
using Felix.Server.Workflows;
using StackExchange.Redis;

namespace Felix.Server.Scaleout;

/// <summary>
/// Workflows in Redis: one JSON record per workflow, updated with compare-and-set so concurrent updates from any node
/// are atomic, and indexes by creation time: overall, per tenant, and per status (overall and per tenant), each moved in
/// the same script as the record. A listing reads one page of one index; a status listing never reads the records of
/// other statuses, so the approval deadlines and recovery that list by status cost the same with a month of history.
/// </summary>
/// <remarks>
/// Retention: when a workflow finishes, its record, events and stream position get a time to live of
/// <see cref="StorageOptions.MaxFinishedAge"/>, so Redis does not grow without bound; index entries whose record has
/// expired are removed when a listing meets them. The record is the truth: a status index entry whose record has
/// another status (left by the one-time build of the status indexes racing an update) is dropped when met.
/// </remarks>
internal sealed class RedisWorkflowStore(RedisConnection redis, TimeSpan? finishedTimeToLive = null) : IWorkflowStore
{
    private const int ReadChunk = 500;
    private static readonly JsonSerializerOptions Json = new JsonSerializerOptions(JsonSerializerDefaults.Web).AddFelixConverters();
    private readonly string _timeToLiveSeconds = finishedTimeToLive is { } ttl
        ? ((long)Math.Ceiling(ttl.TotalSeconds)).ToString(CultureInfo.InvariantCulture)
        : "0";

    private volatile bool _statusIndexesBuilt;

    public async Task CreateAsync(WorkflowRecord workflow, CancellationToken cancellationToken = default)
    {
        var keys = redis.Keys;
        var created = (int)await redis.Database.ScriptEvaluateAsync(
            RedisWorkflowScripts.Create,
            [keys.Workflow(workflow.Id), keys.WorkflowIndex, keys.OwnerIndex(workflow.Owner),
                keys.StatusIndex(workflow.Status), keys.OwnerStatusIndex(workflow.Owner, workflow.Status), keys.Owners],
            [Serialize(workflow), workflow.Id, Score(workflow), workflow.Status == WorkflowStatuses.Pending ? redis.NodeId : ""]);
        if (created == 0)
        {
            throw new InvalidOperationException($"Workflow {workflow.Id} already exists.");
        }
    }

    public async Task<WorkflowRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        var json = await redis.Database.StringGetAsync(redis.Keys.Workflow(id));
        return json.IsNull ? null : Deserialize(json!);
    }

    public async Task<WorkflowRecord?> UpdateAsync(string id, Func<WorkflowRecord, WorkflowRecord?> update, CancellationToken cancellationToken = default)
    {
        var keys = redis.Keys;
        var stored = await redis.Database.StringGetAsync(keys.Workflow(id));
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (stored.IsNull)
            {
                return null;
            }

            var current = Deserialize(stored!);
            var next = update(current);
            if (next is null)
            {
                return null;
            }

            var result = await redis.Database.ScriptEvaluateAsync(
                RedisWorkflowScripts.Update,
                [keys.Workflow(id), keys.Events(id), keys.Position(id),
                    keys.StatusIndex(current.Status), keys.OwnerStatusIndex(current.Owner, current.Status),
                    keys.StatusIndex(next.Status), keys.OwnerStatusIndex(next.Owner, next.Status), keys.Owners],
                [stored, Serialize(next), id, Score(next), WorkflowStatuses.IsTerminal(next.Status) ? _timeToLiveSeconds : "0",
                    LetsGoOn(current, next) ? redis.NodeId : "", Finishes(current, next) ? redis.NodeId : ""]);
            if (result.Resp2Type == ResultType.Integer)
            {
                return next;
            }

            // Changed since it was read (the script hands back what it is now) or gone.
            stored = (RedisValue)result;
        }
    }

    public async Task<(IReadOnlyList<WorkflowRecord> Items, int Total)> ListAsync(string? status, string? owner, int page, int pageSize, CancellationToken cancellationToken = default)
    {
        if (status is not null)
        {
            await BuildStatusIndexesOnceAsync();
        }

        var db = redis.Database;
        var index = (status, owner) switch
        {
            (null, null) => redis.Keys.WorkflowIndex,
            (null, { } tenant) => redis.Keys.OwnerIndex(tenant),
            ({ } s, null) => redis.Keys.StatusIndex(s),
            ({ } s, { } tenant) => redis.Keys.OwnerStatusIndex(tenant, s),
        };

        // Newest first straight from the index: one page of records, whatever the number of workflows.
        var pageIds = await db.SortedSetRangeByRankAsync(index, (long)(page - 1) * pageSize, (long)page * pageSize - 1, Order.Descending);
        var total = page == 1 && pageIds.Length < pageSize ? pageIds.Length : (int)await db.SortedSetLengthAsync(index);
        var records = await ReadAsync(pageIds);

        var items = new List<WorkflowRecord>(pageIds.Length);
        var expired = new List<RedisValue>();
        var moved = new List<RedisValue>();
        for (var i = 0; i < pageIds.Length; i++)
        {
            if (records[i] is not { } record)
            {
                expired.Add(pageIds[i]);
            }
            else if (status is not null && record.Status != status)
            {
                moved.Add(pageIds[i]);
            }
            else
            {
                items.Add(record);
            }
        }

        if (expired.Count > 0)
        {
            await db.SortedSetRemoveAsync(index, [.. expired]);
            await db.SortedSetRemoveAsync(redis.Keys.WorkflowIndex, [.. expired]);
        }

        if (moved.Count > 0)
        {
            await db.SortedSetRemoveAsync(index, [.. moved]);
        }

        return (items, total - expired.Count - moved.Count);
    }

    /// <summary>The records of <paramref name="ids"/>, in order; null where a record has expired.</summary>
    private async Task<WorkflowRecord?[]> ReadAsync(RedisValue[] ids)
    {
        if (ids.Length == 0)
        {
            return [];
        }

        var records = await redis.Database.StringGetAsync(ids.Select(id => redis.Keys.Workflow(id!)).ToArray());
        return records.Select(json => json.IsNull ? null : Deserialize(json!)).ToArray();
    }

    /// <summary>
    /// Workflows stored before the status indexes existed are added to them once per deployment (a marker key says it is
    /// done), so recovery and the approval deadlines still find them. Adding is idempotent, so two nodes may both do it.
    /// </summary>
    private async Task BuildStatusIndexesOnceAsync()
    {
        if (_statusIndexesBuilt)
        {
            return;
        }

        var db = redis.Database;
        if (!await db.KeyExistsAsync(redis.Keys.StatusIndexesBuilt))
        {
            var ids = await db.SortedSetRangeByRankAsync(redis.Keys.WorkflowIndex);
            foreach (var chunk in ids.Chunk(ReadChunk))
            {
                var adds = new List<Task>();
                foreach (var record in (await ReadAsync(chunk)).OfType<WorkflowRecord>())
                {
                    var score = record.CreatedAt.ToUnixTimeMilliseconds();
                    adds.Add(db.SortedSetAddAsync(redis.Keys.StatusIndex(record.Status), record.Id, score));
                    adds.Add(db.SortedSetAddAsync(redis.Keys.OwnerStatusIndex(record.Owner, record.Status), record.Id, score));
                }

                await Task.WhenAll(adds);
            }

            await db.StringSetAsync(redis.Keys.StatusIndexesBuilt, 1);
        }

        _statusIndexesBuilt = true;
    }

    /// <summary>
    /// A parked workflow that a decision lets go on: this node holds it from this update until it puts it on the shared
    /// queue (<see cref="RedisQueueScripts.Enqueue"/>), so a node that dies in between leaves it to be taken over, and one
    /// whose push failed queues it later (<see cref="UnqueuedWorkflows"/>): never running with nobody to run it.
    /// </summary>
    private static bool LetsGoOn(WorkflowRecord current, WorkflowRecord next) =>
        current.Status == WorkflowStatuses.AwaitingApproval && next.Status == WorkflowStatuses.Running;

    private static bool Finishes(WorkflowRecord current, WorkflowRecord next) =>
        !WorkflowStatuses.IsTerminal(current.Status) && WorkflowStatuses.IsTerminal(next.Status);

    private static long Score(WorkflowRecord workflow) => workflow.CreatedAt.ToUnixTimeMilliseconds();

    private static string Serialize(WorkflowRecord workflow) => JsonSerializer.Serialize(workflow, Json);

    private static WorkflowRecord Deserialize(string json) =>
        JsonSerializer.Deserialize<WorkflowRecord>(json, Json) ?? throw new InvalidDataException("A stored workflow record is empty.");
}
