namespace Felix.Tests.Storage;

internal static class StorageTestSettings
{
    /// <summary>Settings for a server that keeps its SQLite file in <paramref name="directory"/>.</summary>
    public static Dictionary<string, string?> SqliteFile(string directory, params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Felix:Storage:Provider"] = "Sqlite",
            ["Felix:Storage:DataDirectory"] = directory,
            ["Felix:Storage:Database"] = "felix.db",
            ["Felix:Storage:Synchronous"] = "Normal",
        };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }
}
