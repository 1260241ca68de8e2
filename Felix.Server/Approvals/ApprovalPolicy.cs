using System.Collections.Immutable;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Server.Agents;

namespace Felix.Server.Approvals;

/// <summary>
/// Where one workflow stops for a decision: its request's settings over the server's defaults, fixed when the workflow
/// is created and kept with it, so a restart or another node applies the same policy.
/// </summary>
internal sealed record ApprovalPolicy
{
    public bool BeforeSynthesis { get; init; }
    public double? BelowConfidence { get; init; }
    public ImmutableArray<string> AgentTypes { get; init; } = [];
    public bool EveryAgent { get; init; }
    public int TimeoutSeconds { get; init; } = ApprovalOptions.DefaultTimeoutSeconds;
    public string OnTimeout { get; init; } = ApprovalDecisions.Reject;

    /// <summary>Whether anything waits at all; a workflow without approvals stores no policy.</summary>
    public bool AsksForAny => BeforeSynthesis || BelowConfidence is not null || AgentTypes.Length > 0 || EveryAgent;

    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);

    public bool Gates(AgentResult output) =>
        EveryAgent
        || AgentTypes.Contains(output.AgentType, StringComparer.OrdinalIgnoreCase)
        || (BelowConfidence is { } threshold && output.Confidence < threshold);

    /// <summary>The policy of a new workflow; null when it asks for no approval.</summary>
    public static ApprovalPolicy? For(ApprovalSettings? request, ApprovalOptions defaults)
    {
        var policy = new ApprovalPolicy
        {
            BeforeSynthesis = request?.BeforeSynthesis ?? defaults.BeforeSynthesis,
            BelowConfidence = request?.BelowConfidence ?? defaults.BelowConfidence,
            // Each role once: the validator accepts repeats, and the record carries the list through every update (a 1 MiB
            // AG-UI body repeats a role over 100,000 times).
            AgentTypes = [.. (request?.AgentTypes ?? defaults.AgentTypes).Distinct(StringComparer.OrdinalIgnoreCase)],
            EveryAgent = request?.EveryAgent ?? defaults.EveryAgent,
            TimeoutSeconds = request?.TimeoutSeconds ?? defaults.TimeoutSeconds,
            OnTimeout = request?.OnTimeout ?? defaults.OnTimeout,
        };
        return policy.AsksForAny ? policy : null;
    }
}
