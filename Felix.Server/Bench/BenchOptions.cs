namespace Felix.Server.Bench;

/// <summary>
/// The load-test mode (<c>Felix:Bench</c>). Off by default: the bench endpoints are not even mapped unless
/// <see cref="Enabled"/> is true, so a normal server has no way to publish synthetic events.
/// </summary>
public sealed class BenchOptions
{
    public const string SectionName = "Felix:Bench";

    /// <summary>Maps <c>/api/v1/bench/*</c> (admin only): synthetic workflows, paced publishing, process counters.</summary>
    public bool Enabled { get; set; }
}
