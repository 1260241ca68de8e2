using System.Net.WebSockets;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Observability;
using Felix.Server.Security;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Microsoft.Extensions.Options;

namespace Felix.Server.Compat;

/// <summary>
/// <c>/api/v1/ws/workflows/{id}</c>: <c>connected</c>, a <c>workflow_status</c> with the status at the asked position,
/// the history after that position, then live events, with no gap and no duplicate at the switch; closes with 1000
/// after the terminal event.
/// </summary>
internal sealed partial class CompatWorkflowStream(
    WorkflowService workflows,
    EventPublisher publisher,
    CompatConnections connections,
    CompatSendWatchdog watchdog,
    IHostApplicationLifetime lifetime,
    IOptions<CompatOptions> options,
    IOptions<WorkflowOptions> workflowOptions,
    TimeProvider time,
    FelixMetrics metrics,
    ILogger<CompatWorkflowStream> logger)
{
    public async Task RunAsync(HttpContext context, string workflowId)
    {
        if (await CompatEndpoints.AcceptAsync(context) is not { } accepted)
        {
            return;
        }

        var (webSocket, expiresAt) = accepted;
        using var disposeSocket = webSocket;
        var socket = new CompatSocket(webSocket, options.Value, time, watchdog, request: context);
        using var watched = watchdog.Watch(socket);
        if (!CompatQuery.TryParse(context.Request.Query, out var query, out var error))
        {
            await socket.CloseAsync(CompatCloseCodes.PolicyViolation, error);
            return;
        }

        try
        {
            var workflow = await workflows.GetAsync(workflowId, FelixClaims.OwnerFilter(context.User), context.RequestAborted);
            if (workflow is null)
            {
                await socket.CloseAsync(CompatCloseCodes.PolicyViolation, CompatCloseCodes.WorkflowNotFound);
                return;
            }

            using var tracked = connections.TrackWorkflow(workflowId);
            // Sending stops when the server stops (the watchdog stops every socket) or the stream ends; receiving goes on
            // until this stream is done with the client's close reply: an aborted receive aborts the socket, and the 1001
            // close would never leave. A client that goes away ends the receive, and with it the stream.
            // A JWT's expiry ends the stream the way a shutdown does, with its own close code, so the client resumes.
            using var expired = expiresAt is { } at ? new CancellationTokenSource(CompatEndpoints.UntilExpiry(at, time), time) : null;
            using var expiry = expired?.Token.UnsafeRegister(static s => ((CompatSocket)s!).Stop(), socket) ?? default;
            var stopping = socket.Stopping;
            using var subscription = await publisher.SubscribeAsync(workflowId, query.Epoch, query.AfterSequence, stopping);
            LogOpened(logger, workflowId, subscription.AfterSequence, subscription.ReplayedFromStart);
            var atStart = await StatusAtStartAsync(workflow, subscription, stopping);
            await socket.SendAsync(CompatFrames.Connected(workflowId, Timestamps.Now(time)), stopping);
            await socket.SendAsync(
                Snapshot(workflow, atStart, subscription.Epoch, subscription.HistoryEnd, subscription.ReplayedFromStart, withTask: true), stopping);

            var sent = new SentPosition { Sequence = subscription.AfterSequence, Status = atStart };
            var receive = socket.ReceiveAsync(
                static (socket, command, state) => state.Stream.OnCommandAsync(command, socket, state.Subscription, state.Sent),
                (Stream: this, Subscription: subscription, Sent: sent));
            var send = SendEventsAsync(socket, subscription, query.Filter, sent, expired?.Token ?? default, stopping);
            socket.StartPinging();
            var first = await Task.WhenAny(receive, send);

            if (first == send)
            {
                var (status, reason) = await send;
                await socket.CloseAndWaitAsync(status, reason, receive);
            }
            else if (await receive is { } refusal)
            {
                await socket.RefuseAsync(refusal.Status, refusal.Reason);
            }
            else
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "");
            }

            socket.Stop();
            if (!receive.IsCompleted)
            {
                socket.AbortReceive();
            }

            await Quietly(receive, send);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            await socket.CloseAsync(CompatCloseCodes.GoingAway, CompatCloseCodes.ServerShutdown);
        }
        catch (Exception ex) when (StorageFaults.Is(ex))
        {
            // The record, the history or a status command needed the store: the node recovers by itself, so the client
            // is told when to come back (as a hub call is), and the host does not log an unhandled exception with a stack.
            LogStorageUnavailable(logger, Platform.SafeText.Escape(workflowId), ex.GetType().Name, ex.Message);
            await socket.CloseAsync(CompatCloseCodes.StorageUnavailable, Api.StorageUnavailableProblem.Message(workflowOptions));
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            socket.Abort();
        }
        finally
        {
            socket.Stop();
            // The id is the client's path, a workflow or not.
            LogClosed(logger, Platform.SafeText.Escape(workflowId));
        }
    }

    private async Task<(WebSocketCloseStatus, string)> SendEventsAsync(
        CompatSocket socket, EventSubscription subscription, EventFilter filter, SentPosition sent, CancellationToken expired, CancellationToken cancellationToken)
    {
        // Counted in runs, not per frame: added when the stream catches up and waits, and when it ends.
        var delivered = new DeliveredCount(metrics);
        try
        {
            await foreach (var published in subscription.ReadHistoryAsync(cancellationToken))
            {
                if (filter.Matches(published.Event))
                {
                    await socket.SendAsync(published.SnakeCaseUtf8, cancellationToken);
                    delivered.Sent++;
                }

                sent.Passed(published.Event);
                if (published.Event.IsTerminal)
                {
                    return (WebSocketCloseStatus.NormalClosure, CompatCloseCodes.WorkflowFinished);
                }
            }

            // The live events as ReadAllAsync reads them, without its iterator: an idle stream waits in this method alone.
            using var stop = subscription.SawTerminal ? default : subscription.StopOn(cancellationToken);
            while (!subscription.SawTerminal)
            {
                if (!subscription.TryReadNextLive(out var published))
                {
                    delivered.Flush();
                    var more = await subscription.WaitForLiveAsync();
                    cancellationToken.ThrowIfCancellationRequested();
                    if (more)
                    {
                        continue;
                    }

                    break;
                }

                if (filter.Matches(published.Event))
                {
                    await socket.SendAsync(published.SnakeCaseUtf8, cancellationToken);
                    delivered.Sent++;
                }

                sent.Passed(published.Event);
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
        catch (StreamLostException)
        {
            LogLost(logger, subscription.WorkflowId);
            return (CompatCloseCodes.WorkflowLost, CompatCloseCodes.WorkflowLostReason);
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
        finally
        {
            delivered.Flush();
        }

        // Both a shutdown and an expiry stop the socket, so they end the loop by throwing, above; only a client that
        // resumed after the terminal event gets here.
        return (WebSocketCloseStatus.NormalClosure, CompatCloseCodes.WorkflowFinished);
    }

    /// <summary>Frames sent and not yet added to <c>felix.events.delivered</c>.</summary>
    private sealed class DeliveredCount(FelixMetrics metrics)
    {
        public long Sent;

        public void Flush()
        {
            if (Sent > 0)
            {
                metrics.Delivered("websocket", Sent);
                Sent = 0;
            }
        }
    }

    private async Task OnCommandAsync(string command, CompatSocket socket, EventSubscription subscription, SentPosition sent)
    {
        var cancellationToken = socket.Stopping;
        switch (command)
        {
            case "ping":
                await socket.SendPongAsync(cancellationToken);
                break;
            case "status" when await workflows.GetAsync(subscription.WorkflowId, null, cancellationToken) is { } current:
                // The position of the last event this connection has sent (or skipped by its filter), read before the
                // reply queues behind any send in flight: resuming from it repeats at most what follows, never skips.
                // The status is the one the stream reached there, not the record's, which is ahead while the replay runs.
                var position = sent.Sequence;
                await socket.SendAsync(Snapshot(current, sent.Status, subscription.Epoch, position, replayedFromStart: false, withTask: false), cancellationToken);
                break;
            // Anything else, JSON included, is ignored as the original does; "pong" only resets the keepalive.
        }
    }

    /// <summary>
    /// The status the connect snapshot states: the one where the replay starts, so that the replayed history moves it on
    /// as it happened (the current status followed by the history would take a running workflow back to pending). A
    /// replay from the start of the stream begins before its first event, the creation's pending, where every workflow
    /// starts; so does a position whose status is no longer kept. With nothing in the log yet, the record's status.
    /// </summary>
    private static async Task<string> StatusAtStartAsync(WorkflowRecord workflow, EventSubscription subscription, CancellationToken cancellationToken) =>
        subscription.HistoryEnd == 0
            ? workflow.Status
            : await subscription.StatusAtStartAsync(cancellationToken) ?? WorkflowStatuses.Pending;

    private byte[] Snapshot(WorkflowRecord workflow, string status, string epoch, long lastSequence, bool replayedFromStart, bool withTask) =>
        CompatFrames.StatusSnapshot(
            workflow.Id,
            status,
            withTask ? workflow.Task : null,
            withTask ? Timestamps.Format(workflow.CreatedAt) : null,
            epoch,
            lastSequence,
            replayedFromStart,
            Timestamps.Now(time));

    /// <summary>
    /// The last stream event a connection has sent or skipped, and the status the stream had reached there: written by its
    /// send loop, read by a status reply.
    /// </summary>
    /// <remarks>
    /// The status is written before the sequence and read after it, so a reply never states a status older than its
    /// position; at worst one newer, of the event just sent, which the client has then received before the reply.
    /// </remarks>
    private sealed class SentPosition
    {
        private long _sequence;
        private string _status = WorkflowStatuses.Pending;

        public long Sequence
        {
            get => Volatile.Read(ref _sequence);
            init => _sequence = value;
        }

        public string Status
        {
            get => Volatile.Read(ref _status);
            init => _status = value;
        }

        public void Passed(WorkflowEvent evt)
        {
            if (evt is WorkflowStatusEvent { Status: var status })
            {
                Volatile.Write(ref _status, status);
            }

            Volatile.Write(ref _sequence, evt.Sequence);
        }
    }

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

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Raw stream of workflow {WorkflowId} closed with 1013: storage unavailable ({Fault}: {Cause})")]
    private static partial void LogStorageUnavailable(ILogger logger, string workflowId, string fault, string cause);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Raw stream of workflow {WorkflowId} closed with 4004: the workflow was lost with storage")]
    private static partial void LogLost(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Raw stream of workflow {WorkflowId} dropped: slow consumer")]
    private static partial void LogSlowConsumer(ILogger logger, string workflowId);
}
