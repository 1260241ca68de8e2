namespace Felix.Server.Agents;

/// <summary>The agent roles the helix can spawn. Research works early, analysis in the middle, critics late.</summary>
internal sealed class AgentRegistry
{
    public static readonly AgentPlugin Research = new(
        "research", "Research Agent", "Gathers facts, angles and open questions about the task.",
        0.0, 0.3, ["information_gathering", "exploration", "source_finding"], ["builtin", "early"], 800, 10,
        "You are a research agent. Explore the task broadly: gather relevant facts, angles and open questions.");

    public static readonly AgentPlugin Analysis = new(
        "analysis", "Analysis Agent", "Structures what research found and draws conclusions.",
        0.3, 0.7, ["analysis", "pattern_recognition", "reasoning"], ["builtin", "middle"], 800, 20,
        "You are an analysis agent. Structure the findings so far, weigh them and draw conclusions.");

    public static readonly AgentPlugin Critic = new(
        "critic", "Critic Agent", "Checks conclusions for gaps, risks and weak evidence.",
        0.7, 1.0, ["critique", "validation", "risk_assessment"], ["builtin", "late"], 600, 30,
        "You are a critic agent. Challenge the conclusions so far: find gaps, risks and weak evidence.");

    private readonly List<AgentPlugin> _plugins = [Research, Analysis, Critic];

    public IReadOnlyList<AgentPlugin> All => _plugins;

    public AgentPlugin? Find(string agentType) =>
        _plugins.FirstOrDefault(p => string.Equals(p.AgentType, agentType, StringComparison.OrdinalIgnoreCase));

    /// <summary>The role for a spawn time: the covering plugin with the highest priority (later roles win at a border).</summary>
    public AgentPlugin ForSpawnTime(double spawnTime) =>
        _plugins.Where(p => p.Covers(spawnTime)).MaxBy(p => p.Priority) ?? _plugins[^1];
}
