namespace Felix.Tests.Scaleout;

/// <summary>
/// Settings of a server process that is one node behind <paramref name="redis"/>: its own key prefix (one test's
/// cluster), its name, a short lease and queue poll so that takeovers happen within a test, and two runs at once.
/// </summary>
internal static class ScaleoutNodeSettings
{
    public static Dictionary<string, string> For(RedisServer redis, string prefix, string name, params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string>
        {
            ["Felix:Redis:Configuration"] = redis.Configuration,
            ["Felix:Redis:KeyPrefix"] = prefix,
            ["Felix:Redis:NodeName"] = name,
            ["Felix:Redis:NodeLease"] = "00:00:02",
            ["Felix:Redis:QueuePollInterval"] = "00:00:00.200",
            ["Felix:Workflows:MaxConcurrent"] = "2",
        };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }
}
