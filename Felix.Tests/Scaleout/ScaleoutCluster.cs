using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Scaleout;

/// <summary>
/// Server nodes on real sockets sharing one test Redis under a key prefix of their own. Leases are short so a dead node
/// is noticed within about a second.
/// </summary>
internal sealed class ScaleoutCluster(RedisServer redis) : IAsyncDisposable
{
    private readonly string _prefix = RedisTestConnections.NewPrefix();
    private readonly List<FelixApplication> _nodes = [];

    /// <summary>
    /// Starts a node; with <paramref name="held"/>, its model calls wait until the test releases them. The lease is
    /// <paramref name="nodeLease"/>, a second unless said. <paramref name="services"/> replaces more of its services.
    /// </summary>
    public FelixApplication StartNode(
        string name, HeldModel? held = null, TimeSpan? nodeLease = null, IReadOnlyDictionary<string, string?>? settings = null,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null)
    {
        var node = new FelixApplication(new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
        {
            ["Felix:Redis:Configuration"] = redis.Configuration,
            ["Felix:Redis:KeyPrefix"] = _prefix,
            ["Felix:Redis:NodeName"] = name,
            ["Felix:Redis:NodeLease"] = (nodeLease ?? TimeSpan.FromSeconds(1)).ToString("c"),
            ["Felix:Redis:QueuePollInterval"] = "00:00:00.200",
            ["Felix:Workflows:ShutdownGracePeriod"] = "00:00:00",
        }, kestrel: true);
        if (held is not null)
        {
            node.WithServices(held.Install);
        }

        if (services is not null)
        {
            node.WithServices(services);
        }

        _ = node.BaseAddress; // starts the server
        _nodes.Add(node);
        return node;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }
}

internal static class ScaleoutClientExtensions
{
    /// <summary>
    /// The whole history as REST returns it, once it ends with the terminal event (the store says completed a moment
    /// before the last event is published).
    /// </summary>
    public static async Task<(string Epoch, List<long> Sequences)> ReadHistoryAsync(this HttpClient client, string workflowId)
    {
        JsonObject page = null!;
        await Poll.UntilAsync(async () =>
        {
            page = (await client.GetFromJsonAsync<JsonObject>($"api/v1/workflows/{workflowId}/events?after=0&limit=1000").DefaultTimeout())!;
            return page["events"]!.AsArray() is [.., var last]
                && (last!["type"]!.GetValue<string>() is "workflow_complete" or "workflow_error"
                    || last["status"]?.GetValue<string>() == WorkflowStatuses.Cancelled);
        }, $"the terminal event of {workflowId}");
        return (page["epoch"]!.GetValue<string>(), page["events"]!.AsArray().Select(e => e!["sequence"]!.GetValue<long>()).ToList());
    }

    /// <summary>
    /// Waits until the workflow's first agent was spawned: its run has read its own history (the checkpoint) by then, so
    /// a <see cref="HeldEventLogReads"/> armed after this holds a client's read, not the runner's.
    /// </summary>
    public static Task WaitForFirstAgentAsync(this HttpClient client, string workflowId) =>
        Poll.UntilAsync(async () => (await client.ReadEventsAsync(workflowId)).OfType<Felix.Contracts.Events.AgentSpawnedEvent>().Any(),
            $"the first agent of {workflowId}");

    /// <summary>Waits until the node reports ready again, as it does once it reaches Redis after an outage.</summary>
    public static Task WaitUntilReadyAsync(this HttpClient client) =>
        Poll.UntilAsync(async () => (await client.GetAsync("health/ready").DefaultTimeout()).StatusCode == System.Net.HttpStatusCode.OK,
            "the node to report ready again");

    public static IEnumerable<long> OneTo(long last) => Enumerable.Range(1, (int)last).Select(i => (long)i);
}
