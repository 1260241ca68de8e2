using System.Collections.Concurrent;
using Felix.Server.Streaming;
using Microsoft.Extensions.Options;

namespace Felix.Server.Compat;

/// <summary>
/// The shared beats of every raw socket on the node: enforces <see cref="CompatOptions.SendTimeout"/> with one timer, as
/// Kestrel's heartbeat does for its own timeouts (the timer beats four times per timeout, a send notes the beat it started
/// on, and each beat aborts the connections whose send has been running for a whole timeout, so a send may last up to a
/// quarter longer); sends the protocol's JSON keepalive ping from a second timer; and stops every stream when the
/// application stops.
/// </summary>
/// <remarks>
/// A timer or a cancellation token per send was the raw fan-out's largest cost of its own: arming and disarming a timer
/// takes a lock, and a cancellable token sends <c>ManagedWebSocket</c> down its slow, allocating path. A send now reads
/// one counter and passes no token. Likewise an idle connection holds no timer, delay or registration of its own for its
/// pings and for the shutdown: with many idle connections those were a fifth of what Felix held per raw connection beyond
/// a bare Kestrel WebSocket.
/// </remarks>
internal sealed class CompatSendWatchdog : IDisposable
{
    private const int BeatsPerTimeout = 4;

    /// <summary>A ping goes out on the first ping beat after a whole interval of quiet, so at most a tenth (or 1 s) late.</summary>
    private const int PingBeatsPerInterval = 10;

    private static readonly TimeSpan MaxPingBeat = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<CompatSocket, byte> _sockets = new();
    private readonly TimeProvider _time;
    private readonly ITimer? _timer;
    private readonly ITimer? _pingTimer;
    private readonly CancellationToken _stopping;
    private readonly CancellationTokenRegistration _onStopping;
    private long _beat = 1;

    public CompatSendWatchdog(
        IOptions<CompatOptions> options, TimeProvider time, IOptions<StreamingOptions>? streaming = null, IHostApplicationLifetime? lifetime = null)
    {
        _time = time;
        PingInterval = streaming?.Value.PingInterval ?? TimeSpan.FromSeconds(StreamingOptions.DefaultPingIntervalSeconds);
        var timeout = options.Value.SendTimeout;
        // Built on first use, inside a request: the timers must not keep that request's execution context alive.
        using (ExecutionContext.SuppressFlow())
        {
            if (timeout != Timeout.InfiniteTimeSpan)
            {
                var period = timeout / BeatsPerTimeout;
                _timer = time.CreateTimer(static state => ((CompatSendWatchdog)state!).Beat(), this, period, period);
            }

            if (PingInterval > TimeSpan.Zero && PingInterval != Timeout.InfiniteTimeSpan)
            {
                var period = PingInterval / PingBeatsPerInterval;
                period = period > MaxPingBeat ? MaxPingBeat : period;
                _pingTimer = time.CreateTimer(static state => ((CompatSendWatchdog)state!).PingBeat(), this, period, period);
            }

            if (lifetime is not null)
            {
                _stopping = lifetime.ApplicationStopping;
                _onStopping = _stopping.UnsafeRegister(static state => ((CompatSendWatchdog)state!).StopAll(), this);
            }
        }
    }

    /// <summary>The current beat (from 1); a send notes it when it starts.</summary>
    public long CurrentBeat => Volatile.Read(ref _beat);

    /// <summary>A watched socket that has started its pings is pinged after this long without a message from its client.</summary>
    public TimeSpan PingInterval { get; }

    /// <summary>Watches <paramref name="socket"/> (its sends, its pings once started, the shutdown) until the handle is disposed.</summary>
    public Watched Watch(CompatSocket socket)
    {
        _sockets.TryAdd(socket, 0);
        // A socket added while the shutdown's sweep ran may have been missed by it.
        if (_stopping.IsCancellationRequested)
        {
            socket.Stop();
        }

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

    private void PingBeat()
    {
        var now = _time.GetTimestamp();
        foreach (var (socket, _) in _sockets)
        {
            socket.PingIfQuiet(now, PingInterval);
        }
    }

    private void StopAll()
    {
        foreach (var (socket, _) in _sockets)
        {
            try
            {
                socket.Stop();
            }
            catch (Exception)
            {
                // One stream's stop callbacks failing must not leave the others running through the shutdown.
            }
        }
    }

    public void Dispose()
    {
        _onStopping.Dispose();
        _timer?.Dispose();
        _pingTimer?.Dispose();
    }

    /// <summary>Ends the watch of one socket; a struct, so that watching allocates nothing beyond the set's entry.</summary>
    internal readonly struct Watched(CompatSendWatchdog? watchdog, CompatSocket? socket) : IDisposable
    {
        public void Dispose()
        {
            if (watchdog is not null && socket is not null)
            {
                watchdog._sockets.TryRemove(socket, out _);
            }
        }
    }
}
