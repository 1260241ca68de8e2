using System.ComponentModel.DataAnnotations;
using Felix.Server.Platform;

namespace Felix.Server.Streaming;

/// <summary>Limits and timings of event delivery (<c>Felix:Streaming</c>).</summary>
public sealed class StreamingOptions
{
    public const string SectionName = "Felix:Streaming";

    /// <summary>The original's keepalive: a JSON ping after this long without a client message.</summary>
    public const int DefaultPingIntervalSeconds = 30;

    /// <summary>A whole default run is under 200 events, token deltas included; 1,024 lets a client lag a full run.</summary>
    public const int DefaultSendQueueCapacity = 1024;

    /// <summary>Enough for long runs with token deltas; older events are dropped first.</summary>
    public const int DefaultMaxEventsPerWorkflow = 10_000;

    /// <summary>JSON ping interval on the raw WebSocket endpoints.</summary>
    [Duration("00:00:00", InfiniteAllowed = true)]
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(DefaultPingIntervalSeconds);

    /// <summary>
    /// A raw WebSocket peer that answers no protocol-level ping within this long is considered dead and closed.
    /// </summary>
    [Duration("00:00:00", InfiniteAllowed = true)]
    public TimeSpan DeadConnectionTimeout { get; set; } = TimeSpan.FromSeconds(DefaultPingIntervalSeconds * 2);

    /// <summary>Events queued for one connection before it counts as a slow consumer and is disconnected.</summary>
    [Range(16, 1_000_000)]
    public int SendQueueCapacity { get; set; } = DefaultSendQueueCapacity;

    /// <summary>
    /// A hub client whose connection cannot take an event for this long is disconnected (it may reconnect and resume), so
    /// it never grows server memory without bound.
    /// </summary>
    [Duration("00:00:00.001", InfiniteAllowed = true)]
    public TimeSpan SlowConsumerTimeout { get; set; } = TimeSpan.FromSeconds(DefaultSlowConsumerTimeoutSeconds);

    /// <summary>Long enough for a client on a poor mobile link; short enough that a stalled one is gone quickly.</summary>
    public const int DefaultSlowConsumerTimeoutSeconds = 15;

    /// <summary>
    /// Events kept per workflow once it has ended; older ones are dropped then (a resume from before them replays what is
    /// kept). A running workflow keeps all of its events: they are its checkpoint.
    /// </summary>
    [Range(100, 10_000_000)]
    public int MaxEventsPerWorkflow { get; set; } = DefaultMaxEventsPerWorkflow;

    /// <summary>Events read from the log per page when a client catches up.</summary>
    [Range(1, 100_000)]
    public int ReplayPageSize { get; set; } = 500;
}
