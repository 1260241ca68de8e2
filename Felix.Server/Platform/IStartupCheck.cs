namespace Felix.Server.Platform;

/// <summary>
/// A condition checked before the host starts anything (no hosted service, no listener): throws
/// <see cref="StartupException"/> when the server must not run. Checks run once per host and may hold what they take
/// (the data directory lock) for its life.
/// </summary>
internal interface IStartupCheck
{
    void Check();
}
