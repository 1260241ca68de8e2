namespace Felix.Server.Platform;

/// <summary>
/// A background loop's run of failures, logged as it begins and as it ends rather than at every beat: a loop that looks
/// every second wrote a Warning with the same stack each second of an outage (600 of them in ten minutes of Redis down).
/// Each loop owns one; it is only touched from that loop.
/// </summary>
internal sealed class FailureSpell
{
    private bool _failing;

    /// <summary>True for the first failure after a success: log it in full. Later ones are repeats.</summary>
    public bool Begins()
    {
        var first = !_failing;
        _failing = true;
        return first;
    }

    /// <summary>True for the first success after failures: log the recovery once.</summary>
    public bool Ends()
    {
        var was = _failing;
        _failing = false;
        return was;
    }
}
