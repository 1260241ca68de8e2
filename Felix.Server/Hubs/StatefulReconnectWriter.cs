using Microsoft.AspNetCore.SignalR;

namespace Felix.Server.Hubs;

/// <summary>
/// The writes of one connection with stateful reconnect: one event per write (its resend buffer counts a write as one
/// message), written one after another, each given the send deadline from when it starts rather than from when it was
/// queued. A write past its deadline, or one that fails, ends the connection without the option to reconnect, so the
/// client resumes by sequence instead of carrying on past a hole.
/// </summary>
/// <remarks>
/// Invariant: at most one write of this connection is in SignalR's hands at a time. SignalR drops a write cancelled
/// while it waits for the connection's write lock without aborting the connection, so writes queued there with a
/// deadline could vanish from a connection that carries on; queued here, none waits on that lock.
/// </remarks>
internal sealed class StatefulReconnectWriter
{
    private readonly HubConnectionContext _member;
    private readonly SharedDeadline _deadline;
    private readonly Action<int>? _delivered;
    private readonly Action<int, Exception> _failed;
    private readonly Lock _lock = new();
    private readonly Queue<(SerializedHubMessage Message, bool IsEvent)> _queue = new();
    private bool _writing;
    private bool _ended;

    /// <param name="failed">Told how many events the member missed when its connection was ended, and why.</param>
    /// <param name="delivered">Told how many events were written, each time the queue has been written out.</param>
    public StatefulReconnectWriter(HubConnectionContext member, SharedDeadline deadline, Action<int, Exception> failed, Action<int>? delivered = null)
    {
        _member = member;
        _deadline = deadline;
        _delivered = delivered;
        _failed = failed;
    }

    /// <param name="messages">One message per event or notice.</param>
    /// <param name="isEvent">Per message, whether it is an event (counted as delivered) rather than a notice; null: all are.</param>
    public void Enqueue(SerializedHubMessage[] messages, bool[]? isEvent = null)
    {
        lock (_lock)
        {
            if (_ended)
            {
                return;
            }

            for (var i = 0; i < messages.Length; i++)
            {
                _queue.Enqueue((messages[i], isEvent?[i] ?? true));
            }

            if (_writing)
            {
                return;
            }

            _writing = true;
        }

        _ = WriteAllAsync();
    }

    private async Task WriteAllAsync()
    {
        var written = 0;
        while (true)
        {
            SerializedHubMessage message;
            bool isEvent;
            lock (_lock)
            {
                if (!_queue.TryDequeue(out var next))
                {
                    _writing = false;
                    if (written > 0)
                    {
                        _delivered?.Invoke(written);
                    }

                    return;
                }

                (message, isEvent) = next;
            }

            try
            {
                // No token for the write itself: SignalR answers a cancelled write on such a connection by letting the
                // client reconnect, and the message may be gone. The deadline is watched here and ends the connection.
                var write = _member.WriteAsync(message, CancellationToken.None);
                if (!write.IsCompletedSuccessfully)
                {
                    await write.AsTask().WaitAsync(_deadline.Token).ConfigureAwait(false);
                }

                written += isEvent ? 1 : 0;
            }
            catch (Exception ex)
            {
                int missed;
                lock (_lock)
                {
                    missed = _queue.Count + 1;
                    _queue.Clear();
                    (_ended, _writing) = (true, false);
                }

                _member.Abort();
                if (written > 0)
                {
                    _delivered?.Invoke(written);
                }

                _failed(missed, ex);
                return;
            }
        }
    }
}
