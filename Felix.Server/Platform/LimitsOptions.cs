using System.ComponentModel.DataAnnotations;

namespace Felix.Server.Platform;

/// <summary>Rate and connection limits per principal and in total (<c>Felix:Limits</c>).</summary>
public sealed class LimitsOptions
{
    public const string SectionName = "Felix:Limits";

    /// <summary>Workflows a principal may create per minute: a person starts a few; a script in a loop is stopped.</summary>
    [Range(1, 1_000_000)]
    public int WorkflowsPerMinute { get; set; } = 60;

    /// <summary>Connection attempts (hub negotiate/connect, raw WebSocket) a principal may make per minute.</summary>
    [Range(1, 10_000_000)]
    public int ConnectionAttemptsPerMinute { get; set; } = 600;

    /// <summary>Open streaming connections one principal may hold.</summary>
    [Range(1, 10_000_000)]
    public int MaxConnectionsPerPrincipal { get; set; } = 1_000;

    /// <summary>Open streaming connections on this node; about 20 KiB each, so 50,000 stays near 1 GiB.</summary>
    [Range(1, 10_000_000)]
    public int MaxConnections { get; set; } = 50_000;

    /// <summary>Seconds to suggest in <c>Retry-After</c> when a connection cap refuses.</summary>
    [Range(1, 3600)]
    public int ConnectionRetryAfterSeconds { get; set; } = 5;
}
