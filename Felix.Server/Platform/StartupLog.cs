using Felix.Server.Agents;
using Felix.Server.Scaleout;
using Felix.Server.Security;
using Felix.Server.Storage;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Felix.Server.Platform;

/// <summary>
/// What this process runs with, one Information line each, so an operator reading the first lines of a log knows which
/// store, node, model and authentication it has without reading its configuration. Secrets never appear: Redis shows its
/// endpoints only, the model its endpoint and name.
/// </summary>
internal static partial class StartupLog
{
    public const string CategoryName = "Felix.Server.Startup";

    public static void LogStartup(this WebApplication app)
    {
        var services = app.Services;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(CategoryName);
        if (services.GetService<RedisConnection>() is { } redis)
        {
            var scaleout = services.GetRequiredService<IOptions<ScaleoutOptions>>().Value;
            var endpoints = ConfigurationOptions.Parse(scaleout.Configuration!).EndPoints.Select(e => e.ToString());
            LogRedisStore(logger, string.Join(", ", endpoints), scaleout.KeyPrefix);
            LogNode(logger, redis.NodeId);
        }
        else
        {
            var storage = services.GetRequiredService<IOptions<StorageOptions>>().Value;
            var location = storage.Provider == StorageProvider.InMemory ? "process memory"
                : services.GetRequiredService<SqliteDatabase>().FilePath ?? "SQLite in process memory";
            LogLocalStore(logger, storage.Provider.ToString(), location);
            LogSingleNode(logger);
        }

        var llm = services.GetRequiredService<IOptions<LlmOptions>>().Value;
        if (llm.IsOffline)
        {
            LogOfflineModel(logger);
        }
        else
        {
            LogModel(logger, llm.Provider, llm.Endpoint!.ToString(), llm.Model);
        }

        SecurityExtensions.LogAuthMode(services, logger);
        // The addresses are known once the server listens (port 0 becomes a real port).
        app.Lifetime.ApplicationStarted.Register(() => LogListening(logger, string.Join(", ", app.Urls)));
    }

    [LoggerMessage(EventId = 9101, Level = LogLevel.Information, Message = "Listening on {Addresses}")]
    private static partial void LogListening(ILogger logger, string addresses);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Information, Message = "Store: {Provider} at {Location}")]
    private static partial void LogLocalStore(ILogger logger, string provider, string location);

    [LoggerMessage(EventId = 9103, Level = LogLevel.Information, Message = "Store: Redis at {Endpoints} (key prefix '{KeyPrefix}')")]
    private static partial void LogRedisStore(ILogger logger, string endpoints, string keyPrefix);

    [LoggerMessage(EventId = 9104, Level = LogLevel.Information, Message = "Scale-out: node {NodeName}")]
    private static partial void LogNode(ILogger logger, string nodeName);

    [LoggerMessage(EventId = 9105, Level = LogLevel.Information, Message = "Scale-out: off (single node; set Felix:Redis:Configuration for several)")]
    private static partial void LogSingleNode(ILogger logger);

    [LoggerMessage(EventId = 9106, Level = LogLevel.Information, Message = "Model: {Provider} at {Endpoint}, model {Model}")]
    private static partial void LogModel(ILogger logger, string provider, string endpoint, string model);

    [LoggerMessage(EventId = 9107, Level = LogLevel.Information, Message = "Model: Offline (built in, no network)")]
    private static partial void LogOfflineModel(ILogger logger);
}
