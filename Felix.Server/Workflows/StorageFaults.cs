using Felix.Server.Storage;
using Microsoft.Data.Sqlite;
using StackExchange.Redis;

namespace Felix.Server.Workflows;

/// <summary>Failures that say the store could not be written or reached, as opposed to a fault of the run itself.</summary>
internal static class StorageFaults
{
    public static bool Is(Exception exception) => exception switch
    {
        SqliteException sqlite => SqliteFaults.IsStorageFault(sqlite),
        RedisConnectionException or RedisTimeoutException => true,
        _ => false,
    };
}
