using Felix.Server.Api;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Felix.Server.Storage;

/// <summary>
/// A request that needed the database while it could not be written (disk full, file read-only or gone, I/O errors)
/// answers 503 <c>Storage unavailable</c>, as the Redis store does, not a 500: it works again once the disk does.
/// </summary>
internal sealed partial class SqliteUnavailableExceptionHandler(ILogger<SqliteUnavailableExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not SqliteException sqlite || !SqliteFaults.IsStorageFault(sqlite) || httpContext.Response.HasStarted)
        {
            return false;
        }

        LogUnavailable(logger, httpContext.Request.Path, sqlite.SqliteErrorCode, sqlite.Message);
        return await StorageUnavailableProblem.WriteAsync(httpContext, "The database cannot be written.");
    }

    [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Request {Path} answered 503: the database cannot be written (SQLite error {Code}: {Cause})")]
    private static partial void LogUnavailable(ILogger logger, PathString path, int code, string cause);
}
