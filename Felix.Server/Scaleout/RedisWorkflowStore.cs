using System.Text.Json;
using Felix.Contracts.Serialization;
using Felix.Contracts;
using Felix.Server.Storage;
using Felix.Server.Workflows;
using StackExchange.Redis;

namespace Felix.Server.Scaleout;

/// <summary>
/// Workflows in Redis: one JSON record per workflow, updated with compare-and-set so concurrent updates from any node
/// are atomic, and indexes by creation time, overall and per tenant. A page without a status filter is read straight
/// from an index; a status filter reads the tenant's records (or everyone's, for the admin) and filters them.
/// </summary>
/// <remarks>
/// Retention: when a workflow finishes, its record, events and stream position get a time to live of
/// <see cref="StorageOptions.MaxFinishedAge"/>, so Redis does not grow without bound; index entries whose record has
/// expired are removed when a listing meets them.
/// </remarks>
internal sealed class RedisWorkflowStore(RedisConnection redis, TimeSpan? finishedTimeToLive = null) : IWorkflowStore
{

    private const int ReadChunk = 500;
    private static readonly JsonSerializerOptions Json = new JsonSerializerOptions(JsonSerializerDefaults.Web).AddFelixConverters();

    public async Task CreateAsync(WorkflowRecord workflow, CancellationToken cancellationToken = default)
    {
        var db = redis.Database;
        if (!await db.StringSetAsync(redis.Keys.Workflow(workflow.Id), Serialize(workflow), when: When.NotExists))
        {
            throw new InvalidOperationException($"Workflow {workflow.Id} already exists.");
        }

        var score = workflow.CreatedAt.ToUnixTimeMilliseconds();
        await db.SortedSetAddAsync(redis.Keys.WorkflowIndex, workflow.Id, score);
        await db.SortedSetAddAsync(redis.Keys.OwnerIndex(workflow.Owner), workflow.Id, score);
    }

    public async Task<WorkflowRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        var json = await redis.Database.StringGetAsync(redis.Keys.Workflow(id));
        return json.IsNull ? null : Deserialize(json!);
    }

    public async Task<WorkflowRecord?> UpdateAsync(string id, Func<WorkflowRecord, WorkflowRecord?> update, CancellationToken cancellationToken = default)
    {
        var db = redis.Database;
        var key = redis.Keys.Workflow(id);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var json = await db.StringGetAsync(key);
            if (json.IsNull)
            {
                return null;
            }

            var next = update(Deserialize(json!));
            if (next is null)
            {
                return null;
            }

            var transaction = db.CreateTransaction();
            transaction.AddCondition(Condition.StringEqual(key, json));
            _ = transaction.StringSetAsync(key, Serialize(next));
            if (finishedTimeToLive is { } ttl && WorkflowStatuses.IsTerminal(next.Status))
            {
                _ = transaction.KeyExpireAsync(key, ttl);
                _ = transaction.KeyExpireAsync(redis.Keys.Events(id), ttl);
                _ = transaction.KeyExpireAsync(redis.Keys.Position(id), ttl);
            }

            if (await transaction.ExecuteAsync())
            {
                return next;
            }
        }
    }

    public async Task<(IReadOnlyList<WorkflowRecord> Items, int Total)> ListAsync(string? status, string? owner, int page, int pageSize, CancellationToken cancellationToken = default)
    {
        var db = redis.Database;
        var index = owner is null ? redis.Keys.WorkflowIndex : redis.Keys.OwnerIndex(owner);
        if (status is null)
        {
            // Newest first straight from the index: one page of records, whatever the number of workflows.
            var total = (int)await db.SortedSetLengthAsync(index);
            var pageIds = await db.SortedSetRangeByRankAsync(index, (long)(page - 1) * pageSize, (long)page * pageSize - 1, Order.Descending);
            var pageItems = (await ReadAsync(index, pageIds)).ToList();
            return (pageItems, total - (pageIds.Length - pageItems.Count));
        }

        var ids = await db.SortedSetRangeByRankAsync(index, 0, -1, Order.Descending);
        var matching = new List<WorkflowRecord>();
        foreach (var chunk in ids.Chunk(ReadChunk))
        {
            matching.AddRange((await ReadAsync(index, chunk)).Where(w => w.Status == status));
        }

        IReadOnlyList<WorkflowRecord> items = matching.Skip((page - 1) * pageSize).Take(pageSize).ToList();
        return (items, matching.Count);
    }

    /// <summary>The records of <paramref name="ids"/>, in order; ids whose record has expired are dropped from the index.</summary>
    private async Task<IEnumerable<WorkflowRecord>> ReadAsync(RedisKey index, RedisValue[] ids)
    {
        if (ids.Length == 0)
        {
            return [];
        }

        var db = redis.Database;
        var records = await db.StringGetAsync(ids.Select(id => redis.Keys.Workflow(id!)).ToArray());
        var expired = ids.Where((_, i) => records[i].IsNull).ToArray();
        if (expired.Length > 0)
        {
            await db.SortedSetRemoveAsync(index, expired);
            await db.SortedSetRemoveAsync(redis.Keys.WorkflowIndex, expired);
        }

        return records.Where(json => !json.IsNull).Select(json => Deserialize(json!));
    }

    private static string Serialize(WorkflowRecord workflow) => JsonSerializer.Serialize(workflow, Json);

    private static WorkflowRecord Deserialize(string json) =>
        JsonSerializer.Deserialize<WorkflowRecord>(json, Json) ?? throw new InvalidDataException("A stored workflow record is empty.");
}
