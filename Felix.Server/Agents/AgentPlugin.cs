namespace Felix.Server.Agents;

/// <summary>An agent role: its metadata (as <c>GET /api/v1/agents/plugins</c> shows it) and its instructions.</summary>
internal sealed record AgentPlugin(
    string AgentType,
    string DisplayName,
    string Description,
    double SpawnFrom,
    double SpawnTo,
    IReadOnlyList<string> Capabilities,
    IReadOnlyList<string> Tags,
    int DefaultTokens,
    int Priority,
    string Instructions)
{
    public string Version { get; init; } = "1.0.0";

    public string Author { get; init; } = "Felix Server";

    public bool Covers(double spawnTime) => spawnTime >= SpawnFrom && spawnTime <= SpawnTo;
}
