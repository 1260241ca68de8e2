using System.Net.WebSockets;
using Felix.Server.Security;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Microsoft.Extensions.Options;

namespace Felix.Server.Compat;

/// <summary>
/// <c>/api/v1/ws/workflows/{id}</c>: <c>connected</c>, the current <c>workflow_status</c>, the history after the asked
/// position, then live events, with no gap and no duplicate at the switch; closes with 1000 after the terminal event.
/// </summary>
internal sealed partial class CompatWorkflowStream(
    WorkflowService workflows,
    EventPublisher publisher,
    CompatConnections connections,
    CompatSendWatchdog watchdog,
    IHostApplicationLifetime lifetime,
    IOptions<CompatOptions> options,
    IOptions<StreamingOptions> streaming,
    TimeProvider time,
    ILogger<CompatWorkflowStream> logger)
{
    public async Task RunAsync(HttpContext context, WebSocket webSocket, string workflowId)
    {
        var socket = new CompatSocket(webSocket, options.Value, streaming.Value, time, watchdog, context.Abort);
        using var watched = watchdog.Watch(socket);
        if (!CompatQuery.TryParse(context.Request.Query, out var query, out var error))
        {
            await socket.CloseAsync(CompatCloseCodes.PolicyViolation, error);
            return;
        }

        var workflow = await workflows.GetAsync(workflowId, FelixClaims.OwnerFilter(context.User), context.RequestAborted);
        if (workflow is null)
        {
            await socket.CloseAsync(CompatCloseCodes.PolicyViolation, CompatCloseCodes.WorkflowNotFound);
            return;
        }

        using var tracked = connections.TrackWorkflow(workflowId);
        // Sending stops when the server stops; receiving goes on until this stream is done with the client's close
        // reply: a cancelled receive aborts the socket, and the 1001 close would never leave.
        // A JWT's expiry ends the stream the way a shutdown does, with its own close code, so the client resumes.
        using var expired = CompatEndpoints.CredentialExpiry(context) is { } expiresAt
            ? new CancellationTokenSource(CompatEndpoints.UntilExpiry(expiresAt, time), time)
            : new CancellationTokenSource();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping, expired.Token);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        using var subscription = await publisher.SubscribeAsync(workflowId, query.Epoch, query.AfterSequence, stop.Token);
        LogOpened(logger, workflowId, subscription.AfterSequence, subscription.ReplayedFromStart);
        try
        {
            await socket.SendAsync(CompatFrames.Connected(workflowId, Timestamps.Now(time)), stop.Token);
            await socket.SendAsync(Snapshot(workflow, subscription, withTask: true), stop.Token);

            var receive = socket.ReceiveAsync(command => OnCommandAsync(command, socket, workflowId, subscription, stop.Token), done.Token);
            var send = SendEventsAsync(socket, subscription, query.Filter, expired.Token, stop.Token);
            var ping = socket.PingAsync(stop.Token);
            var first = await Task.WhenAny(receive, send);

            if (first == send)
            {
                var (status, reason) = await send;
                await socket.CloseAndWaitAsync(status, reason, receive);
            }
            else if (await receive is { } refusal)
            {
                await socket.CloseAsync(refusal.Status, refusal.Reason);
            }
            else
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "");
            }

            await stop.CancelAsync();
            await done.CancelAsync();
            await Quietly(receive, send, ping);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            await socket.CloseAsync(CompatCloseCodes.GoingAway, CompatCloseCodes.ServerShutdown);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            socket.Abort();
        }
        finally
        {
            LogClosed(logger, workflowId);
        }
    }

    private async Task<(WebSocketCloseStatus, string)> SendEventsAsync(
        CompatSocket socket, EventSubscription subscription, EventFilter filter, CancellationToken expired, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var published in subscription.ReadAllAsync(cancellationToken))
            {
                if (filter.Matches(published.Event))
                {
                    await socket.SendAsync(published.SnakeCaseUtf8, cancellationToken);
                }

                if (published.Event.IsTerminal)
                {
                    return (WebSocketCloseStatus.NormalClosure, CompatCloseCodes.WorkflowFinished);
                }
            }
        }
        catch (SlowConsumerException)
        {
            LogSlowConsumer(logger, subscription.WorkflowId);
            return (CompatCloseCodes.SlowConsumer, CompatCloseCodes.SlowConsumerReason);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return (CompatCloseCodes.GoingAway, CompatCloseCodes.ServerShutdown);
        }
        catch (OperationCanceledException) when (expired.IsCancellationRequested)
        {
            LogCredentialsExpired(logger, subscription.WorkflowId);
            return (CompatCloseCodes.CredentialsExpired, CompatCloseCodes.CredentialsExpiredReason);
        }

        if (expired.IsCancellationRequested)
        {
            LogCredentialsExpired(logger, subscription.WorkflowId);
            return (CompatCloseCodes.CredentialsExpired, CompatCloseCodes.CredentialsExpiredReason);
        }

        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return (CompatCloseCodes.GoingAway, CompatCloseCodes.ServerShutdown);
        }

        return (WebSocketCloseStatus.NormalClosure, CompatCloseCodes.WorkflowFinished);
    }

    private async Task OnCommandAsync(string command, CompatSocket socket, string workflowId, EventSubscription subscription, CancellationToken cancellationToken)
    {
        switch (command)
        {
            case "ping":
                await socket.SendPongAsync(cancellationToken);
                break;
            case "status" when await workflows.GetAsync(workflowId, null, cancellationToken) is { } current:
                await socket.SendAsync(Snapshot(current, subscription, withTask: false), cancellationToken);
                break;
            // Anything else, JSON included, is ignored as the original does; "pong" only resets the keepalive.
        }
    }

    private byte[] Snapshot(WorkflowRecord workflow, EventSubscription subscription, bool withTask) =>
        CompatFrames.StatusSnapshot(
            workflow.Id,
            workflow.Status,
            withTask ? workflow.Task : null,
            withTask ? Timestamps.Format(workflow.CreatedAt) : null,
            subscription.Epoch,
            subscription.HistoryEnd,
            subscription.ReplayedFromStart,
            Timestamps.Now(time));

    internal static async Task Quietly(params Task[] tasks)
    {
        try
        {
            await Task.WhenAll(tasks);
        }
        catch
        {
            // Each loop's end was already handled; these are the echoes of cancelling the others.
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Raw stream opened for workflow {WorkflowId} after {AfterSequence} (replayed from start: {ReplayedFromStart})")]
    private static partial void LogOpened(ILogger logger, string workflowId, long afterSequence, bool replayedFromStart);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Raw stream closed for workflow {WorkflowId}")]
    private static partial void LogClosed(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Raw stream of workflow {WorkflowId} closed: its token expired")]
    private static partial void LogCredentialsExpired(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Raw stream of workflow {WorkflowId} dropped: slow consumer")]
    private static partial void LogSlowConsumer(ILogger logger, string workflowId);
}
