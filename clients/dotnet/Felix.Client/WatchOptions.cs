namespace Felix.Client;

/// <summary>Where a watch starts and what it sends to the consumer.</summary>
public sealed class WatchOptions
{
    /// <summary>
    /// Start after this sequence (the last one a previous watch delivered); null or 0 for the whole history. A position the
    /// server cannot honour is replayed from the start (see <see cref="OnEpochChange"/>).
    /// </summary>
    public long? AfterSequence { get; set; }

    /// <summary>The epoch <see cref="AfterSequence"/> belongs to, when known (the <c>Epoch</c> of the last event seen).</summary>
    public string? Epoch { get; set; }

    /// <summary>
    /// snake_case event types to receive (see <c>Felix.Contracts.EventTypes</c>); null for all. The watch still ends after the
    /// workflow's terminal event when the filter leaves it out.
    /// </summary>
    public IReadOnlyList<string>? Types { get; set; }

    /// <summary>Only events of these agents (events that belong to no agent still arrive); null for all.</summary>
    public IReadOnlyList<string>? AgentIds { get; set; }

    /// <summary>Leave out <c>agent_output</c> events whose confidence is below this (0 to 1); null for no threshold.</summary>
    public double? MinConfidence { get; set; }

    /// <summary>What to do when the stream cannot be resumed where it was (history lost).</summary>
    public EpochChangeBehavior OnEpochChange { get; set; } = EpochChangeBehavior.Restart;

    /// <summary>
    /// Called before the watch resumes after a lost connection, with the last sequence delivered; once per position, even
    /// when getting the stream back there takes more than one attempt.
    /// </summary>
    public Action<long>? OnResuming { get; set; }

    /// <summary>
    /// Called before the watch waits because the server refused it with 503 or 429 and a <c>Retry-After</c> (see
    /// <see cref="FelixClientOptions.RetryAfterLimit"/>), with the status and the wait it asked for.
    /// </summary>
    public Action<System.Net.HttpStatusCode, TimeSpan>? OnRetryAfter { get; set; }
}
