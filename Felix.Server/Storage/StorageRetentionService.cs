using Microsoft.Extensions.Options;

namespace Felix.Server.Storage;

/// <summary>Runs <see cref="SqliteRetention"/> every <see cref="StorageOptions.RetentionInterval"/> (SQLite storage only).</summary>
internal sealed partial class StorageRetentionService(
    IServiceProvider services,
    IOptions<StorageOptions> options,
    TimeProvider time,
    ILogger<StorageRetentionService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Provider != StorageProvider.Sqlite)
        {
            return;
        }

        var retention = services.GetRequiredService<SqliteRetention>();
        using var timer = new PeriodicTimer(options.Value.RetentionInterval, time);
        try
        {
            do
            {
                try
                {
                    await retention.PruneAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogSweepFailed(logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 6202, Level = LogLevel.Error, Message = "Retention sweep failed; the next one retries")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
