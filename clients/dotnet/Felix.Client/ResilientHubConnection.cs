using System.Net;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Client;

/// <summary>
/// A hub connection that a watch can always get back to a connected state: it waits while the automatic reconnect runs,
/// and starts the connection afresh once the hub has closed, with the same delays.
/// </summary>
internal sealed class ResilientHubConnection : IAsyncDisposable
{
    private readonly IReadOnlyList<TimeSpan> _delays;
    private TaskCompletionSource _stateChanged = NewSignal();
    private bool _connectedOnce;

    public ResilientHubConnection(HubConnection connection, IReadOnlyList<TimeSpan> delays)
    {
        Connection = connection;
        _delays = delays;
        connection.Reconnected += _ => Signal();
        connection.Closed += _ => Signal();
    }

    public HubConnection Connection { get; }

    /// <summary>Whether the connection has been connected at least once: from then on, failures are reconnects and retried.</summary>
    public bool ConnectedOnce => _connectedOnce;

    /// <summary>
    /// Returns once the connection is connected. The first start is not retried (the caller learns at once that the
    /// server is down or the key is wrong); later ones are, with the reconnect delays.
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
                    try
                    {
                        await Connection.StartAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (HttpRequestException ex) when (ex.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                    {
                        throw new FelixApiException(ex.StatusCode.Value, ex.StatusCode == HttpStatusCode.Unauthorized ? "Unauthorized" : "Forbidden",
                            "The workflow hub refused the API key.", innerException: ex);
                    }
                    catch (Exception) when (_connectedOnce && failures < _delays.Count && !cancellationToken.IsCancellationRequested)
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
