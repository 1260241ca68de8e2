using System.Text.Json;
using Felix.Contracts.Serialization;
using Felix.Server.Workflows;
using StackExchange.Redis;

namespace Felix.Server.Scaleout;

/// <summary>
/// Workflows in Redis: one JSON record per workflow, updated with compare-and-set so concurrent updates from any node
/// are atomic, and an index by creation time for listing. Listing reads the records of the index and filters them on
/// the node: fine for thousands of workflows, not for millions.
/// </summary>
internal sealed class RedisWorkflowStore(RedisConnection redis) : IWorkflowStore
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

        await db.SortedSetAddAsync(redis.Keys.WorkflowIndex, workflow.Id, workflow.CreatedAt.ToUnixTimeMilliseconds());
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
            if (await transaction.ExecuteAsync())
            {
                return next;
            }
        }
    }

    public async Task<(IReadOnlyList<WorkflowRecord> Items, int Total)> ListAsync(string? status, string? owner, int page, int pageSize, CancellationToken cancellationToken = default)
    {
        var db = redis.Database;
        var ids = await db.SortedSetRangeByRankAsync(redis.Keys.WorkflowIndex, 0, -1, Order.Descending);
        var matching = new List<WorkflowRecord>();
        foreach (var chunk in ids.Chunk(ReadChunk))
        {
            var records = await db.StringGetAsync(chunk.Select(id => redis.Keys.Workflow(id!)).ToArray());
            foreach (var json in records)
            {
                if (!json.IsNull && Deserialize(json!) is var w && (status is null || w.Status == status) && (owner is null || w.Owner == owner))
                {
                    matching.Add(w);
                }
            }
        }

        var ordered = matching
            .OrderByDescending(w => w.CreatedAt)
            .ThenByDescending(w => w.Id, StringComparer.Ordinal)
            .ToList();
        IReadOnlyList<WorkflowRecord> items = ordered.Skip((page - 1) * pageSize).Take(pageSize).ToList();
        return (items, ordered.Count);
    }

    private static string Serialize(WorkflowRecord workflow) => JsonSerializer.Serialize(workflow, Json);

    private static WorkflowRecord Deserialize(string json) =>
        JsonSerializer.Deserialize<WorkflowRecord>(json, Json) ?? throw new InvalidDataException("A stored workflow record is empty.");
}
