using Felix.Contracts;
using Felix.Contracts.Events;

namespace Felix.Server.Streaming;

/// <summary>
/// Which events a subscriber wants: by type, by agent and by a confidence threshold on agent outputs. Events that
/// carry no agent pass the agent filter; only <c>agent_output</c> is held to the threshold, so the terminal event always
/// reaches a subscriber that asked for its type.
/// </summary>
internal sealed class EventFilter
{
    public static readonly EventFilter All = new(null, null, null);

    private readonly IReadOnlySet<string>? _types;
    private readonly IReadOnlySet<string>? _agentIds;
    private readonly double? _minConfidence;

    public EventFilter(IReadOnlySet<string>? types, IReadOnlySet<string>? agentIds, double? minConfidence)
    {
        _types = types;
        _agentIds = agentIds;
        _minConfidence = minConfidence;
    }

    public bool Matches(WorkflowEvent evt)
    {
        if (_types is not null && !_types.Contains(evt.Type))
        {
            return false;
        }

        if (_agentIds is not null && AgentOf(evt) is { } agentId && !_agentIds.Contains(agentId))
        {
            return false;
        }

        return _minConfidence is not { } min || ConfidenceOf(evt) is not { } confidence || confidence >= min;
    }

    /// <summary>
    /// Parses a list of type names; throws <see cref="ArgumentException"/> naming an unknown one. A null or empty entry
    /// is skipped like an empty one between commas (a hub client can send <c>[null]</c>).
    /// </summary>
    public static IReadOnlySet<string>? ParseTypes(IEnumerable<string?>? names, IReadOnlySet<string>? whenAbsent)
    {
        var list = Split(names);
        if (list is null || list.Count == 0)
        {
            return whenAbsent;
        }

        // Every name is checked, "all" or not: a misspelt type next to "all" is still a client's mistake to hear about.
        foreach (var name in list)
        {
            if (name != "all" && !EventTypes.IsKnown(name))
            {
                throw new ArgumentException($"Unknown event type '{name}'. Known types: {string.Join(", ", EventTypes.All.Keys.Order())}, or 'all'.");
            }
        }

        return list.Contains("all", StringComparer.Ordinal) ? null : list.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Comma-separated values, null and empty entries skipped; null when nothing is left.</summary>
    public static IReadOnlySet<string>? ParseList(IEnumerable<string?>? values)
    {
        var list = Split(values);
        return list is null || list.Count == 0 ? null : list.ToHashSet(StringComparer.Ordinal);
    }

    private static List<string>? Split(IEnumerable<string?>? values) =>
        values?.SelectMany(n => (n ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    private static string? AgentOf(WorkflowEvent evt) => evt switch
    {
        AgentSpawnedEvent e => e.AgentId,
        AgentOutputEvent e => e.AgentId,
        AgentOutputDeltaEvent e => e.AgentId,
        AgentReasoningDeltaEvent e => e.AgentId,
        AgentCompletedEvent e => e.AgentId,
        _ => null,
    };

    private static double? ConfidenceOf(WorkflowEvent evt) => evt switch
    {
        AgentOutputEvent e => e.Confidence,
        _ => null,
    };
}
