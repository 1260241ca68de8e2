using System.ComponentModel.DataAnnotations;
using Felix.Server.Platform;

namespace Felix.Server.Scaleout;

/// <summary>Several nodes sharing work, history and clients through Redis (<c>Felix:Redis</c>). Off while <see cref="Configuration"/> is unset.</summary>
public sealed class ScaleoutOptions
{
    public const string SectionName = "Felix:Redis";

    /// <summary>Keys and channels of one deployment share this prefix, so several deployments (or test runs) can share a Redis.</summary>
    public const string DefaultKeyPrefix = "felix";

    /// <summary>
    /// A node that has not renewed its lease for this long is taken for dead and its workflows are taken over (pending)
    /// or failed (running). Long enough to ride out a GC pause or a short network hiccup, short enough that clients of a
    /// dead node's workflow get their <c>workflow_error</c> in well under a minute.
    /// </summary>
    public const int DefaultNodeLeaseSeconds = 15;

    /// <summary>How often an idle node looks at the shared queue when no wake-up message arrived (one may be lost).</summary>
    public const int DefaultQueuePollMilliseconds = 1000;

    /// <summary>A StackExchange.Redis configuration string (<c>host:6379,password=…</c>). Scale-out is on when set.</summary>
    public string? Configuration { get; set; }

    [Required]
    [RegularExpression("^[A-Za-z0-9_.:-]{1,64}$", ErrorMessage = "Felix:Redis:KeyPrefix must be 1-64 letters, digits or _ . : -")]
    public string KeyPrefix { get; set; } = DefaultKeyPrefix;

    /// <summary>See <see cref="DefaultNodeLeaseSeconds"/>. Heartbeats renew the lease three times per lease period.</summary>
    [Duration("00:00:01")]
    public TimeSpan NodeLease { get; set; } = TimeSpan.FromSeconds(DefaultNodeLeaseSeconds);

    [Duration("00:00:00.001")]
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromMilliseconds(DefaultQueuePollMilliseconds);

    /// <summary>A name for this node in logs and in <c>workflow_error</c> messages; a random one when unset.</summary>
    public string? NodeName { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(Configuration);
}
