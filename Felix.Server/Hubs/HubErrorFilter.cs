using System.Runtime.CompilerServices;
using Felix.Contracts.Events;
using Felix.Server.Api;
using Felix.Server.Platform;
using Felix.Server.Workflows;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Felix.Server.Hubs;

/// <summary>
/// Logs what goes wrong in hub methods in place of SignalR's dispatcher (whose "Failed to invoke hub method" is an error
/// with a stack for every bad argument a client sends). A <see cref="HubException"/> is the client's mistake: one
/// Information line without a stack, the client's text escaped, at most <see cref="MistakesPerMinute"/> a minute per
/// connection so a client cannot fill the log. A store that cannot be reached or written is answered as REST answers it
/// (503 <c>Storage unavailable</c>): a <see cref="HubException"/> that tells the client to retry, and a Warning, since the
/// node recovers by itself. Anything else is the server's fault and keeps its Error and stack.
/// </summary>
internal sealed partial class HubErrorFilter(TimeProvider time, IOptions<WorkflowOptions> workflowOptions, ILogger<HubErrorFilter> logger) : IHubFilter
{
    /// <summary>Enough to see what a misbehaving client does; 1,000 bad calls a minute still log a handful of lines.</summary>
    public const int MistakesPerMinute = 5;

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            var result = await next(invocationContext);
            // A stream's failures happen while it is read, after this call returned (SignalR logs them as errors too).
            return result is IAsyncEnumerable<WorkflowEvent> stream ? Watch(stream, invocationContext) : result;
        }
        catch (Exception ex) when (StorageFaults.Is(ex))
        {
            throw StorageUnavailable(invocationContext, ex);
        }
        catch (Exception ex) when (Logged(invocationContext, ex))
        {
            throw; // never reached: Logged only looks
        }
    }

    /// <summary>
    /// Logs a failure as what it is (a client's mistake, or the server's fault) and returns false, so the exception
    /// goes on to SignalR unchanged, from an exception filter that never catches it.
    /// </summary>
    private bool Logged(HubInvocationContext invocationContext, Exception exception)
    {
        switch (exception)
        {
            case HubException refused:
                Refused(invocationContext, refused);
                break;
            case OperationCanceledException:
                break;
            default:
                LogFailed(logger, exception, invocationContext.HubMethodName, invocationContext.Context.ConnectionId);
                break;
        }

        return false;
    }

    private async IAsyncEnumerable<WorkflowEvent> Watch(
        IAsyncEnumerable<WorkflowEvent> stream, HubInvocationContext invocationContext, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var items = stream.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await items.MoveNextAsync())
                {
                    yield break;
                }
            }
            catch (Exception ex) when (StorageFaults.Is(ex))
            {
                throw StorageUnavailable(invocationContext, ex);
            }
            catch (Exception ex) when (Logged(invocationContext, ex))
            {
                throw; // never reached: Logged only looks
            }

            yield return items.Current;
        }
    }

    private HubException StorageUnavailable(HubInvocationContext invocationContext, Exception exception)
    {
        LogStorageUnavailable(logger, invocationContext.HubMethodName, invocationContext.Context.ConnectionId, exception.GetType().Name, exception.Message);
        return new HubException(StorageUnavailableProblem.Message(workflowOptions));
    }

    private void Refused(HubInvocationContext invocationContext, HubException exception)
    {
        var items = invocationContext.Context.Items;
        if (items.TryGetValue(typeof(MistakeBudget), out var stored) is false || stored is not MistakeBudget budget)
        {
            budget = new MistakeBudget();
            items[typeof(MistakeBudget)] = budget;
        }

        var outcome = budget.Take(time.GetUtcNow());
        if (outcome != MistakeBudget.Outcome.Muted)
        {
            LogClientMistake(logger, invocationContext.Context.ConnectionId, invocationContext.HubMethodName, SafeText.Escape(exception.Message));
        }

        if (outcome == MistakeBudget.Outcome.LogAndMute)
        {
            LogMuted(logger, invocationContext.Context.ConnectionId, MistakesPerMinute);
        }
    }

    /// <summary>Mistakes logged in the current minute of one connection.</summary>
    private sealed class MistakeBudget
    {
        public enum Outcome
        {
            Log,
            LogAndMute,
            Muted,
        }

        private DateTimeOffset _windowStart;
        private int _count;

        public Outcome Take(DateTimeOffset now)
        {
            lock (this)
            {
                if (now - _windowStart >= TimeSpan.FromMinutes(1))
                {
                    _windowStart = now;
                    _count = 0;
                }

                _count++;
                return _count < MistakesPerMinute ? Outcome.Log : _count == MistakesPerMinute ? Outcome.LogAndMute : Outcome.Muted;
            }
        }
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Hub call {HubMethod} from connection {ConnectionId} refused: {Reason}")]
    private static partial void LogClientMistake(ILogger logger, string connectionId, string hubMethod, string reason);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "Connection {ConnectionId} made {Count} refused hub calls this minute; further ones are not logged until the next")]
    private static partial void LogMuted(ILogger logger, string connectionId, int count);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "Hub call {HubMethod} on connection {ConnectionId} answered storage unavailable ({Fault}: {Cause})")]
    private static partial void LogStorageUnavailable(ILogger logger, string hubMethod, string connectionId, string fault, string cause);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Error, Message = "Hub method {HubMethod} failed on connection {ConnectionId}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string hubMethod, string connectionId);
}
