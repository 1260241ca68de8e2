using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Felix.Server.Compat;

/// <summary>
/// Enforces <see cref="CompatOptions.SendTimeout"/> for every raw socket with one timer, as Kestrel's heartbeat does for
/// its own timeouts: the timer beats four times per timeout, a send notes the beat it started on, and each beat aborts
/// the connections whose send has been running for a whole timeout (so a send may last up to a quarter longer).
/// </summary>
/// <remarks>
/// A timer or a cancellation token per send was the raw fan-out's largest cost of its own: arming and disarming a timer
/// takes a lock, and a cancellable token sends <c>ManagedWebSocket</c> down its slow, allocating path. A send now reads
/// one counter and passes no token.
/// </remarks>
internal sealed class CompatSendWatchdog : IDisposable
{
    private const int BeatsPerTimeout = 4;

    private readonly ConcurrentDictionary<CompatSocket, byte> _sockets = new();
    private readonly ITimer? _timer;
    private long _beat = 1;

    public CompatSendWatchdog(IOptions<CompatOptions> options, TimeProvider time)
    {
        var timeout = options.Value.SendTimeout;
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        var period = timeout / BeatsPerTimeout;
        // Built on first use, inside a request: the timer must not keep that request's execution context alive.
        using (ExecutionContext.SuppressFlow())
        {
            _timer = time.CreateTimer(static state => ((CompatSendWatchdog)state!).Beat(), this, period, period);
        }
    }

    /// <summary>The current beat (from 1); a send notes it when it starts.</summary>
    public long CurrentBeat => Volatile.Read(ref _beat);

    /// <summary>Watches <paramref name="socket"/>'s sends until the returned handle is disposed.</summary>
    public IDisposable Watch(CompatSocket socket)
    {
        if (_timer is null)
        {
            return NoWatch.Instance;
        }

        _sockets.TryAdd(socket, 0);
        return new Watched(this, socket);
    }

    private void Beat()
    {
        var beat = Interlocked.Increment(ref _beat);
        // A send noted at beat b started before beat b + 1, so at beat b + 1 + BeatsPerTimeout it has run a whole timeout.
        var startedBefore = beat - BeatsPerTimeout;
        // Enumerating the dictionary itself takes no snapshot (Keys would copy every socket on each beat).
        foreach (var (socket, _) in _sockets)
        {
            try
            {
                socket.AbortIfSendStartedBefore(startedBefore);
            }
            catch (Exception)
            {
                // A connection that ended while this beat looked at it can refuse the abort; it is gone either way,
                // and the other sockets of this beat (and the process: this is a timer thread) must not pay for it.
            }
        }
    }

    public void Dispose() => _timer?.Dispose();

    private sealed class Watched(CompatSendWatchdog watchdog, CompatSocket socket) : IDisposable
    {
        public void Dispose() => watchdog._sockets.TryRemove(socket, out _);
    }

    private sealed class NoWatch : IDisposable
    {
        public static readonly NoWatch Instance = new();

        public void Dispose()
        {
        }
    }
}
