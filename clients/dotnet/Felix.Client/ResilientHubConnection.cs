using System.Net;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Client;

/// <summary>
/// A hub connection that a watch can always get back to a connected state: it waits while the automatic reconnect runs,
/// and starts the connection afresh once the hub has closed, with the same delays. A start the server refuses with 503 or
/// 429 and a <c>Retry-After</c> (draining for a restart, busy) is tried again after the wait it asked for.
/// </summary>
internal sealed class ResilientHubConnection : IAsyncDisposable
{
    private readonly IReadOnlyList<TimeSpan> _delays;
    private readonly RetryAfterRecorder _refusals;
    private readonly RetryAfterWaits _waits;
    private TaskCompletionSource _stateChanged = NewSignal();
    private bool _connectedOnce;
    private bool _askedToWait;

    public ResilientHubConnection(HubConnection connection, IReadOnlyList<TimeSpan> delays, RetryAfterRecorder refusals, RetryAfterWaits waits)
    {
        Connection = connection;
        _delays = delays;
        _refusals = refusals;
        _waits = waits;
        connection.Reconnected += _ => Signal();
        connection.Closed += _ => Signal();
    }

    public HubConnection Connection { get; }

    /// <summary>
    /// Whether failures are now reconnects and retried: the connection has been connected at least once, or the server
    /// has asked to come back later (a server draining for a restart is down for a moment after it).
    /// </summary>
    public bool Retrying => _connectedOnce || _askedToWait;

    /// <summary>
    /// Returns once the connection is connected. A refusal with <c>Retry-After</c> is waited out, within the watch's
    /// budget for such waits, also on the first start. Other failures of the first start are not retried (the caller
    /// learns at once that the server is down or the key is wrong); once <see cref="Retrying"/>, they are, with the
    /// reconnect delays.
    /// </summary>
    public async Task EnsureConnectedAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (true)
        {
            var changed = Volatile.Read(ref _stateChanged);
            switch (Connection.State)
            {
                case HubConnectionState.Connected:
                    _connectedOnce = true;
                    return;
                case HubConnectionState.Disconnected:
                    _refusals.Take();
                    try
                    {
                        await Connection.StartAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (HttpRequestException ex) when (ex.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                    {
                        throw new FelixApiException(ex.StatusCode.Value, ex.StatusCode == HttpStatusCode.Unauthorized ? "Unauthorized" : "Forbidden",
                            "The workflow hub refused the API key.", innerException: ex);
                    }
                    catch (Exception) when (!cancellationToken.IsCancellationRequested && _refusals.Take() is { } refusal)
                    {
                        // The server is up and said when to come back: that wait is not a failed attempt.
                        if (!await _waits.WaitAsync(refusal, cancellationToken).ConfigureAwait(false))
                        {
                            throw;
                        }

                        _askedToWait = true;
                    }
                    catch (Exception) when (Retrying && failures < _delays.Count && !cancellationToken.IsCancellationRequested)
                    {
                        await Task.Delay(_delays[failures++], cancellationToken).ConfigureAwait(false);
                    }

                    break;
                default:
                    // Connecting or reconnecting: the automatic reconnect ends in Reconnected or Closed.
                    await changed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
    }

    public ValueTask DisposeAsync() => Connection.DisposeAsync();

    private Task Signal()
    {
        Interlocked.Exchange(ref _stateChanged, NewSignal()).TrySetResult();
        return Task.CompletedTask;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
