using System.ComponentModel.DataAnnotations;

namespace Felix.Server.Platform;

/// <summary>Rate and connection limits per principal and in total (<c>Felix:Limits</c>).</summary>
public sealed class LimitsOptions
{
    public const string SectionName = "Felix:Limits";

    /// <summary>Workflows a principal may create per minute: a person starts a few; a script in a loop is stopped.</summary>
    [Range(1, 1_000_000)]
    public int WorkflowsPerMinute { get; set; } = 60;

    /// <summary>
    /// Connection attempts (hub negotiate/connect, raw WebSocket) one principal may make per minute from one client
    /// address: one client reconnecting in a loop is stopped, while a crowd sharing one key (the original's single-key
    /// deployment) reconnecting after a restart is not, since each of its clients comes from an address of its own.
    /// </summary>
    [Range(1, 10_000_000)]
    public int ConnectionAttemptsPerMinute { get; set; } = 600;

    /// <summary>
    /// Connection attempts one principal may make per minute from all its addresses together, after a burst of
    /// <see cref="MaxConnectionsPerPrincipal"/>: a principal can always open again every connection it may hold at once
    /// (all its clients back after a restart), but cannot churn through connections faster than this.
    /// </summary>
    [Range(1, 10_000_000)]
    public int PrincipalConnectionAttemptsPerMinute { get; set; } = 6_000;

    /// <summary>
    /// Open streaming connections one principal may hold. Sized for a deployment whose every client shares one key (the
    /// original's): its whole crowd is one principal.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxConnectionsPerPrincipal { get; set; } = 10_000;

    /// <summary>
    /// Workflows one hub connection may follow at once through <c>Subscribe</c>: a dashboard follows one, a monitor a
    /// few hundred. Each costs the connection a group membership for its whole life, so without a bound one connection
    /// could hold one for every workflow its tenant ever ran.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxWorkflowsPerConnection { get; set; } = 1_000;

    /// <summary>Open streaming connections on this node; about 20 KiB each, so 50,000 stays near 1 GiB.</summary>
    [Range(1, 10_000_000)]
    public int MaxConnections { get; set; } = 50_000;

    /// <summary>
    /// Seconds to suggest in <c>Retry-After</c> when a connection cap refuses; connection refusals add up to as much again
    /// at random, so a crowd refused together does not come back together.
    /// </summary>
    [Range(1, 3600)]
    public int ConnectionRetryAfterSeconds { get; set; } = 5;
}
