using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Client;

public sealed partial class FelixClient
{
    // The server's message when it cuts off a stream reader that fell behind; it asks the client to resume.
    private const string SlowConsumerMessage = "Slow consumer";

    /// <summary>
    /// Watches a workflow: its events, typed, in order, each exactly once, from the start of its history (or after
    /// <see cref="WatchOptions.AfterSequence"/>) to the terminal event (<c>workflow_complete</c> or <c>workflow_error</c>),
    /// after which the sequence ends.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The watch has its own hub connection with automatic reconnect. When the connection is lost (or the server cuts off
    /// a slow reader), it reconnects, or opens a fresh connection once the hub has closed, and streams again after the
    /// last sequence it delivered; anything at or below that sequence is dropped, so the consumer sees no gap and no
    /// repeat. Before resuming it asks the server whether that position still exists in the same epoch; when the history
    /// was lost it applies <see cref="WatchOptions.OnEpochChange"/>.
    /// </para>
    /// <para>
    /// It throws <see cref="HubException"/> for errors the hub reports (unknown workflow, bad filter),
    /// <see cref="FelixApiException"/> when the key is refused, and the last connection error once
    /// <see cref="FelixClientOptions.ReconnectDelays"/> are used up (a resume check that cannot reach the server counts as
    /// a failed reconnect attempt). The first connection is not retried.
    /// </para>
    /// <para>
    /// A server that refuses the hub connection or the resume check with 503 or 429 and a <c>Retry-After</c> (draining
    /// for a restart, busy) is asked again after that wait plus up to a second of jitter, also on the first connection
    /// and on the automatic reconnect after a drop without a close;
    /// these waits do not use up the reconnect delays, and together, since the last event delivered, they last at most
    /// <see cref="FelixClientOptions.RetryAfterLimit"/>. After such a refusal the server counts as seen: if it is then
    /// down for a moment (the restart), that is retried as a reconnect. <see cref="WatchOptions.OnRetryAfter"/> is told
    /// of each wait.
    /// </para>
    /// </remarks>
    public async IAsyncEnumerable<WorkflowEvent> WatchAsync(
        string workflowId, WatchOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(workflowId);
        options ??= new WatchOptions();
        var types = options.Types is { Count: > 0 } t ? t.ToArray() : null;
        var cursor = new StreamCursor(workflowId, options.AfterSequence ?? 0, options.Epoch, options.OnEpochChange);
        var refusals = new RetryAfterRecorder();
        var waits = new RetryAfterWaits(Options.RetryAfterLimit, options.OnRetryAfter);
        await using var hub = new ResilientHubConnection(CreateHubConnection(refusals, waits), Options.ReconnectDelays, refusals, waits);
        // Attempts to get the stream back since the last event delivered: a lost stream, or a resume check that could not
        // reach the server. Each waits the next reconnect delay; once they are used up, the last error is thrown.
        var failuresWithoutProgress = 0;
        Exception? lastFailure = null;
        long? reportedResume = null;
        while (true)
        {
            if (lastFailure is not null)
            {
                if (failuresWithoutProgress >= Options.ReconnectDelays.Count)
                {
                    ExceptionDispatchInfo.Throw(lastFailure);
                }

                await Task.Delay(Options.ReconnectDelays[failuresWithoutProgress++], cancellationToken).ConfigureAwait(false);
                lastFailure = null;
            }

            await hub.EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
            if (cursor.Last > 0)
            {
                try
                {
                    await CheckResumePositionAsync(cursor, cancellationToken).ConfigureAwait(false);
                }
                catch (FelixApiException ex) when (ex.RetryAfter is { } asked && IsComeBackLater(ex.StatusCode) && !cancellationToken.IsCancellationRequested)
                {
                    if (!await waits.WaitAsync(new ServerRetryAfter(ex.StatusCode, asked), cancellationToken).ConfigureAwait(false))
                    {
                        throw;
                    }

                    continue;
                }
                catch (Exception ex) when (hub.Retrying && IsTransient(ex, cancellationToken))
                {
                    // The hub connection can still look connected for a moment after the server went away (a crash):
                    // the server is not reachable yet, which is a reconnect that has not succeeded.
                    lastFailure = ex;
                    continue;
                }
            }

            var after = cursor.Last > 0 ? cursor.Last : (long?)null;
            var stream = options.AgentIds is null && options.MinConfidence is null
                ? hub.Connection.StreamAsync<WorkflowEvent>(nameof(IWorkflowHub.StreamEvents), workflowId, after, types, cancellationToken)
                : hub.Connection.StreamAsync<WorkflowEvent>(nameof(IWorkflowHub.StreamEventsWithOptions), workflowId, new EventStreamOptions
                {
                    AfterSequence = after,
                    Types = types,
                    AgentIds = options.AgentIds,
                    MinConfidence = options.MinConfidence,
                }, cancellationToken);
            var events = stream.GetAsyncEnumerator(cancellationToken);
            try
            {
                while (true)
                {
                    var read = await ReadAsync(events, cancellationToken).ConfigureAwait(false);
                    if (read.Lost is { } lost)
                    {
                        lastFailure = lost;
                        // A stream started on a connection that was already going down fails too; that retry resumes from
                        // the same position, so it is reported once.
                        if (reportedResume != cursor.Last)
                        {
                            reportedResume = cursor.Last;
                            options.OnResuming?.Invoke(cursor.Last);
                        }

                        break;
                    }

                    if (read.Event is not { } evt)
                    {
                        // The server completes a stream only after the terminal event, also when a filter left it out.
                        yield break;
                    }

                    if (!cursor.Accept(evt))
                    {
                        continue;
                    }

                    failuresWithoutProgress = 0;
                    waits.Reset();
                    yield return evt;
                    if (evt.IsTerminal)
                    {
                        yield break;
                    }
                }
            }
            finally
            {
                await events.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Watches a workflow as <see cref="WatchAsync(string, WatchOptions?, CancellationToken)"/> does and calls the
    /// <see cref="IWorkflowClient"/> method of each event on <paramref name="handler"/>, one at a time, in order. Completes
    /// after the terminal event has been handled.
    /// </summary>
    public async Task WatchAsync(
        string workflowId, IWorkflowClient handler, WatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        await foreach (var evt in WatchAsync(workflowId, options, cancellationToken).ConfigureAwait(false))
        {
            await WorkflowEventDispatcher.DispatchAsync(handler, evt).ConfigureAwait(false);
        }
    }

    private async Task CheckResumePositionAsync(StreamCursor cursor, CancellationToken cancellationToken)
    {
        var page = await GetEventsAsync(cursor.WorkflowId, cursor.Last, limit: 1, cursor.Epoch, cancellationToken).ConfigureAwait(false);
        if (page.ReplayedFromStart || (cursor.Epoch is not null && cursor.Epoch != page.Epoch))
        {
            cursor.Restart(page.Epoch);
        }
        else
        {
            cursor.Epoch ??= page.Epoch;
        }
    }

    /// <summary>Whether <paramref name="exception"/> says the server is not reachable now (down, restarting, draining), not that the request was wrong.</summary>
    private static bool IsTransient(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        _ when cancellationToken.IsCancellationRequested => false,
        FelixApiException api => api.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout,
        HttpRequestException http => http.StatusCode is null or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout,
        // HttpClient's own timeout.
        TaskCanceledException or TimeoutException or IOException or System.Net.Sockets.SocketException => true,
        _ => false,
    };

    private static bool IsComeBackLater(HttpStatusCode status) => status is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests;

    private static async Task<StreamRead> ReadAsync(IAsyncEnumerator<WorkflowEvent> events, CancellationToken cancellationToken)
    {
        try
        {
            return await events.MoveNextAsync().ConfigureAwait(false) ? new StreamRead(events.Current, null) : default;
        }
        catch (HubException ex) when (ex.Message.Contains(SlowConsumerMessage, StringComparison.Ordinal))
        {
            return new StreamRead(null, ex);
        }
        catch (Exception ex) when (ex is not HubException && !cancellationToken.IsCancellationRequested)
        {
            // The connection closed under the stream (a transport error, or "invocation canceled" on close).
            return new StreamRead(null, ex);
        }
    }

    private HubConnection CreateHubConnection(RetryAfterRecorder refusals, RetryAfterWaits waits)
    {
        var builder = new HubConnectionBuilder().WithUrl(new Uri(Options.NormalizedBaseAddress, HubPaths.Workflows.TrimStart('/')), http =>
        {
            http.Transports = Options.Transports;
            if (Options.AccessTokenProvider is { } provider)
            {
                http.AccessTokenProvider = provider;
            }
            else if (Options.ApiKey is { Length: > 0 } key)
            {
                http.AccessTokenProvider = () => Task.FromResult<string?>(key);
            }

            // Every HTTP request of the hub connection (negotiate, long polling) passes the recorder: it keeps the
            // Retry-After of a refusal, which the exception SignalR throws for it does not carry.
            var handlers = Options.HttpMessageHandlerFactory;
            http.HttpMessageHandlerFactory = inner => refusals.Wrap(handlers is null ? inner : handlers());

            if (Options.WebSocketFactory is { } sockets)
            {
                http.WebSocketFactory = sockets;
            }
        });
        if (Options.Protocol == FelixProtocol.MessagePack)
        {
            builder.AddMessagePackProtocol(o => o.SerializerOptions = o.SerializerOptions.WithFelixResolver());
        }
        else
        {
            builder.AddJsonProtocol(o => o.PayloadSerializerOptions.AddFelixConverters());
        }

        if (Options.StatefulReconnect)
        {
            builder.WithStatefulReconnect();
        }

        return builder.WithAutomaticReconnect(new RetryAfterReconnectPolicy(Options.ReconnectDelays, refusals, waits)).Build();
    }

    private readonly record struct StreamRead(WorkflowEvent? Event, Exception? Lost);

    /// <summary>The watch's position: the last sequence delivered and the epoch it belongs to.</summary>
    private sealed class StreamCursor(string workflowId, long last, string? epoch, EpochChangeBehavior onEpochChange)
    {
        public string WorkflowId { get; } = workflowId;
        public long Last { get; private set; } = last;
        public string? Epoch { get; set; } = epoch;

        /// <summary>Whether to deliver <paramref name="evt"/>: false for a repeat of a sequence already delivered.</summary>
        public bool Accept(WorkflowEvent evt)
        {
            if (Epoch is not null && evt.Epoch != Epoch)
            {
                Restart(evt.Epoch);
            }

            Epoch = evt.Epoch;
            if (evt.Sequence <= Last)
            {
                return false;
            }

            Last = evt.Sequence;
            return true;
        }

        /// <summary>The server's stream is no longer the one read so far: go on from its start, or stop.</summary>
        public void Restart(string currentEpoch)
        {
            if (onEpochChange == EpochChangeBehavior.Throw)
            {
                throw new FelixStreamResetException(WorkflowId, Epoch, currentEpoch, Last);
            }

            Epoch = currentEpoch;
            Last = 0;
        }
    }
}
