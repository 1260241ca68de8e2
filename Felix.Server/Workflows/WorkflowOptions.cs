using System.ComponentModel.DataAnnotations;
using Felix.Server.Platform;

namespace Felix.Server.Workflows;

/// <summary>Engine limits (<c>Felix:Workflows</c>).</summary>
public sealed class WorkflowOptions
{
    public const string SectionName = "Felix:Workflows";

    /// <summary>Two cores run four offline or remote-LLM workflows comfortably: they mostly wait on the model.</summary>
    public const int DefaultMaxConcurrent = 4;

    /// <summary>Enough to absorb a burst; beyond it clients are told to retry rather than wait unboundedly.</summary>
    public const int DefaultQueueCapacity = 100;

    /// <summary>The original's default: research, analysis and critic voices, then synthesis.</summary>
    public const int DefaultMaxSteps = 5;

    /// <summary>A default offline run takes well under a second and an LLM run tens of seconds: most finish in this time.</summary>
    public const int DefaultShutdownGraceSeconds = 20;

    [Range(1, 256)]
    public int MaxConcurrent { get; set; } = DefaultMaxConcurrent;

    [Range(1, 100_000)]
    public int QueueCapacity { get; set; } = DefaultQueueCapacity;

    /// <summary>
    /// Queue slots kept for tenants with nothing waiting, so one tenant's backlog never shuts another out. Unset: a
    /// tenth of <see cref="QueueCapacity"/>, at least one. 0 lets one tenant fill the whole queue.
    /// </summary>
    [Range(0, 100_000)]
    public int? QueueReserve { get; set; }

    /// <summary>The reserve in force.</summary>
    public int EffectiveQueueReserve => QueueReserve ?? Math.Max(1, QueueCapacity / 10);

    /// <summary>Agents spawned when a request gives no <c>max_steps</c>.</summary>
    [Range(1, 50)]
    public int DefaultSteps { get; set; } = DefaultMaxSteps;

    /// <summary>Synthesis starts early once the agents' mean confidence reaches this (and enough agents spoke).</summary>
    [Range(0.0, 1.0)]
    public double ConfidenceThreshold { get; set; } = 0.8;

    /// <summary>Fewest agents before an early synthesis.</summary>
    [Range(1, 50)]
    public int MinAgentsBeforeSynthesis { get; set; } = 3;

    /// <summary>
    /// Runs a workflow may start: a run interrupted by a stop or crash resumes from its history, and a workflow whose
    /// runs keep being interrupted (one that crashes the server each time) fails after this many instead of forever.
    /// </summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = DefaultMaxAttempts;

    /// <summary>
    /// How long a run that cannot write (disk full, database gone, Redis unreachable) waits for storage to come back
    /// before the workflow fails.
    /// </summary>
    [Duration("00:00:00")]
    public TimeSpan StorageOutageLimit { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Two crashes in one run still finish (graceful restarts do not count); a workflow that kills its runner is stopped on the third.</summary>
    public const int DefaultMaxAttempts = 3;

    /// <summary>How long <c>DELETE</c> waits for a running workflow's work to stop before it answers.</summary>
    [Duration("00:00:00")]
    public TimeSpan CancelWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// On shutdown, running workflows get this long to finish; then they are interrupted (failed with a
    /// <c>workflow_error</c>). The host's shutdown timeout is raised to cover it.
    /// </summary>
    [Duration("00:00:00")]
    public TimeSpan ShutdownGracePeriod { get; set; } = TimeSpan.FromSeconds(DefaultShutdownGraceSeconds);

    /// <summary>
    /// Seconds to suggest in <c>Retry-After</c> when the queue is full, the node is stopping or storage is unavailable
    /// (and in the texts that tell streaming clients when to come back: <c>Api/StorageUnavailableProblem</c>).
    /// </summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = DefaultRetryAfterSeconds;

    /// <summary>Stores usually come back within seconds (a restart, a failover, space freed), and a full queue drains as fast.</summary>
    public const int DefaultRetryAfterSeconds = 5;
}
