namespace Felix.Contracts.Dtos;

/// <summary><c>GET /api/v1/system/status</c>: the original's fields plus the engine's and the streams' figures.</summary>
public sealed class SystemStatusResponse
{
    /// <summary><c>running</c> or <c>stopped</c>.</summary>
    public string Status { get; set; } = "";
    /// <summary>Server version.</summary>
    public string FelixVersion { get; set; } = "";
    /// <summary>REST API version.</summary>
    public string ApiVersion { get; set; } = "v1";
    /// <summary>Seconds since the server started.</summary>
    public double UptimeSeconds { get; set; }
    /// <summary>Workflows running now.</summary>
    public int ActiveWorkflows { get; set; }
    /// <summary>Workflows waiting in the queue.</summary>
    public int QueuedWorkflows { get; set; }
    /// <summary>Most workflows run at once.</summary>
    public int MaxConcurrentWorkflows { get; set; }
    /// <summary>Agents working now.</summary>
    public int ActiveAgents { get; set; }
    /// <summary>The model back end (<c>offline</c>, <c>openai</c>).</summary>
    public string LlmProvider { get; set; } = "";
    /// <summary>Always false: Felix Server has no knowledge brain.</summary>
    public bool KnowledgeBrainEnabled { get; set; }
    /// <summary>Open streaming connections by transport (<c>websocket</c>, <c>signalr</c>, <c>agui</c>), for an admin; empty for a tenant's caller.</summary>
    public IReadOnlyDictionary<string, int> Connections { get; set; } = new Dictionary<string, int>();
    /// <summary>
    /// Whether this node takes new work, as <c>/health/ready</c> answers: false while it drains, or while its store or
    /// Redis cannot be used, even though <see cref="Status"/> still says <c>running</c>. Taken from a readiness answer
    /// at most a second old (a drain shows at once), so polling the status does not probe the store per call.
    /// </summary>
    public bool Ready { get; set; } = true;
    /// <summary>Why the node is not ready: <c>check: description</c> per failing readiness check (<c>redis: Redis is unreachable.</c>); empty when ready.</summary>
    public IReadOnlyList<string> NotReady { get; set; } = [];
}
