using System.Collections.Concurrent;
using Felix.Contracts;
using Microsoft.AspNetCore.SignalR;

namespace Felix.Server.Hubs;

/// <summary>
/// Ends every hub connection with SignalR's close message when the node begins to stop, so a client sees its connection
/// closed by the server (<c>Closed</c> without an error) and resumes by sequence elsewhere or after the restart.
/// </summary>
/// <remarks>
/// Left alone, SignalR's connection manager cancels every connection's transport on <c>ApplicationStopping</c>, and a
/// WebSocket client reads a reset, not a close. This runs first: its callback is registered after the manager's (the
/// hubs are mapped before it), and a token runs its callbacks newest first. It aborts each hub connection, which makes
/// SignalR send its close message, then waits until the hub requests have ended (the WebSocket close handshake done),
/// at most <see cref="CloseWait"/>.
/// </remarks>
internal sealed partial class HubShutdown(ILogger<HubShutdown> logger) : IHubFilter
{
    /// <summary>SignalR gives a client this long to answer its WebSocket close before it cuts the socket.</summary>
    public static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, HubCallerContext> _connections = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _requests;
    private volatile bool _closing;

    public static bool IsHubRequest(HttpContext context) =>
        context.Request.Path.StartsWithSegments(HubPaths.Workflows) || context.Request.Path.StartsWithSegments(HubPaths.System);

    /// <summary>Counts the hub requests in flight (a WebSocket connection is one request for its whole life).</summary>
    /// <remarks>
    /// Counted down when the response has completed rather than after awaiting <paramref name="next"/>: an awaiting
    /// middleware keeps its state machine for the whole life of every hub connection.
    /// </remarks>
    public Task TrackAsync(HttpContext context, RequestDelegate next)
    {
        Interlocked.Increment(ref _requests);
        context.Response.OnCompleted(static state =>
        {
            ((HubShutdown)state).RequestEnded();
            return Task.CompletedTask;
        }, this);
        return next(context);
    }

    private void RequestEnded()
    {
        if (Interlocked.Decrement(ref _requests) == 0 && _closing)
        {
            _idle.TrySetResult();
        }
    }

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        _connections[context.Context.ConnectionId] = context.Context;
        await next(context);
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        _connections.TryRemove(context.Context.ConnectionId, out _);
        await next(context, exception);
    }

    /// <summary>Closes every hub connection and waits, bounded, for their requests to end. Blocks: see the remarks.</summary>
    public void CloseAll()
    {
        _closing = true;
        var count = _connections.Count;
        foreach (var connection in _connections.Values)
        {
            connection.Abort();
        }

        if (Volatile.Read(ref _requests) > 0 && !_idle.Task.Wait(CloseWait))
        {
            LogCloseTimedOut(logger, Volatile.Read(ref _requests));
        }

        LogClosed(logger, count);
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Shutting down: closed {Count} hub connections")]
    private static partial void LogClosed(ILogger logger, int count);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Warning, Message = "Shutting down: {Count} hub requests still open after the close; SignalR cuts them")]
    private static partial void LogCloseTimedOut(ILogger logger, int count);
}
