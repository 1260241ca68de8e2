using System.Net.WebSockets;
using System.Text;
using Felix.Server.Compat;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Felix.Tests.Compat;

/// <summary>
/// The original protocol's keepalive: a JSON ping after each <see cref="StreamingOptions.PingInterval"/> without a
/// message from the client, sent by the watchdog's shared ping beat; and the shutdown's stop of every watched socket.
/// The raw socket runs on a fake clock over an in-memory connection, with a real client WebSocket at the other end.
/// </summary>
public sealed class CompatKeepaliveTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task AClientThatTalksIsNotPingedUntilItHasBeenQuietForAWholeInterval()
    {
        using var rig = new WatchedSocket(Interval);
        var (time, client, socket) = (rig.Time, rig.Client, rig.Socket);
        var heard = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var receiving = socket.ReceiveAsync(text => { heard.TrySetResult(text); return Task.CompletedTask; }, stop.Token);
        socket.StartPinging();
        var buffer = new byte[4096];
        var firstFrame = client.ReceiveAsync(buffer, CancellationToken.None);

        // The client speaks 6 s in, so at 10 s it has been quiet for 4 s: no ping until 16 s (the ping beat is 1 s).
        time.Advance(TimeSpan.FromSeconds(6));
        await client.SendAsync("hello"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).DefaultTimeout();
        Assert.Equal("hello", await heard.Task.DefaultTimeout());
        await AdvanceAsync(time, TimeSpan.FromSeconds(4));
        await AdvanceAsync(time, TimeSpan.FromSeconds(5.5));
        Assert.False(firstFrame.IsCompleted, "the client was pinged though it had spoken less than an interval before");

        await AdvanceAsync(time, TimeSpan.FromSeconds(1));
        var frame = await firstFrame.DefaultTimeout();
        Assert.Contains("\"type\":\"ping\"", Encoding.UTF8.GetString(buffer, 0, frame.Count), StringComparison.Ordinal);

        // A stopped stream is pinged no more.
        socket.Stop();
        var secondFrame = client.ReceiveAsync(buffer, CancellationToken.None);
        await AdvanceAsync(time, TimeSpan.FromSeconds(30));
        Assert.False(secondFrame.IsCompleted, "a stopped stream was pinged");

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receiving).DefaultTimeout();
    }

    [Fact]
    public async Task ASocketIsNotPingedBeforeItsStreamStartsPinging()
    {
        using var rig = new WatchedSocket(Interval);
        var (time, client, socket) = (rig.Time, rig.Client, rig.Socket);
        var buffer = new byte[4096];
        var firstFrame = client.ReceiveAsync(buffer, CancellationToken.None);

        await AdvanceAsync(time, TimeSpan.FromSeconds(25));
        Assert.False(firstFrame.IsCompleted, "the socket was pinged before its stream had sent its first frames");

        // The first ping comes a whole interval after the start, whatever the socket's age.
        socket.StartPinging();
        await AdvanceAsync(time, TimeSpan.FromSeconds(9.5));
        Assert.False(firstFrame.IsCompleted);
        await AdvanceAsync(time, TimeSpan.FromSeconds(1));
        var frame = await firstFrame.DefaultTimeout();
        Assert.Contains("\"type\":\"ping\"", Encoding.UTF8.GetString(buffer, 0, frame.Count), StringComparison.Ordinal);
        socket.Stop();
    }

    [Theory]
    // A short interval is beaten in tenths (250 ms): the ping due at 2.6 s goes out by 2.85 s, not at the next second.
    [InlineData(2.5, 0.1, 2.85)]
    // A long one is beaten every second at most, not every tenth of it (6 s): due at 63 s, out by 63.5 s, not at 66 s.
    [InlineData(60, 3, 63.5)]
    public async Task APingGoesOutAtMostATenthOfTheIntervalOrOneSecondAfterItIsDue(double intervalSeconds, double startSeconds, double pingedBySeconds)
    {
        using var rig = new WatchedSocket(TimeSpan.FromSeconds(intervalSeconds));
        var buffer = new byte[4096];
        var firstFrame = rig.Client.ReceiveAsync(buffer, CancellationToken.None);
        // Started between two beats, so that the ping falls due between two beats as well.
        await AdvanceAsync(rig.Time, TimeSpan.FromSeconds(startSeconds));
        rig.Socket.StartPinging();

        await AdvanceAsync(rig.Time, TimeSpan.FromSeconds(intervalSeconds - 0.2));
        Assert.False(firstFrame.IsCompleted, "the client was pinged before it had been quiet for a whole interval");
        await AdvanceAsync(rig.Time, TimeSpan.FromSeconds(pingedBySeconds - startSeconds - intervalSeconds + 0.2));
        // The clock stays here: a ping that waits for a later beat never comes, and the wait times out.
        var frame = await firstFrame.DefaultTimeout();
        Assert.Contains("\"type\":\"ping\"", Encoding.UTF8.GetString(buffer, 0, frame.Count), StringComparison.Ordinal);
        rig.Socket.Stop();
    }

    [Fact]
    public async Task AQuietClientIsPingedOnceAnIntervalNotOnEveryBeat()
    {
        using var rig = new WatchedSocket(Interval);
        rig.Socket.StartPinging();
        var buffer = new byte[4096];

        var firstFrame = rig.Client.ReceiveAsync(buffer, CancellationToken.None);
        await AdvanceAsync(rig.Time, TimeSpan.FromSeconds(10.5));
        await firstFrame.DefaultTimeout();

        // Still quiet: the next ping is an interval after this one, not at the next beats (one a second).
        var secondFrame = rig.Client.ReceiveAsync(buffer, CancellationToken.None);
        await AdvanceAsync(rig.Time, TimeSpan.FromSeconds(5));
        Assert.False(secondFrame.IsCompleted, "the quiet client was pinged again before a whole interval had passed");
        await AdvanceAsync(rig.Time, TimeSpan.FromSeconds(5));
        var frame = await secondFrame.DefaultTimeout();
        Assert.Contains("\"type\":\"ping\"", Encoding.UTF8.GetString(buffer, 0, frame.Count), StringComparison.Ordinal);
        rig.Socket.Stop();
    }

    [Fact]
    public void TheApplicationStoppingStopsEveryWatchedSocketAndThoseWatchedAfter()
    {
        var time = new FakeTimeProvider();
        using var lifetime = new StoppingLifetime();
        using var watchdog = new CompatSendWatchdog(Options.Create(new CompatOptions()), time, null, lifetime);
        using var first = WebSocket.CreateFromStream(new MemoryStream(), isServer: true, null, Timeout.InfiniteTimeSpan);
        using var second = WebSocket.CreateFromStream(new MemoryStream(), isServer: true, null, Timeout.InfiniteTimeSpan);
        var before = new CompatSocket(first, new CompatOptions(), time, watchdog);
        using var watchedBefore = watchdog.Watch(before);
        Assert.False(before.Stopping.IsCancellationRequested);

        lifetime.Stop();
        Assert.True(before.Stopping.IsCancellationRequested);

        var after = new CompatSocket(second, new CompatOptions(), time, watchdog);
        using var watchedAfter = watchdog.Watch(after);
        Assert.True(after.Stopping.IsCancellationRequested);
    }

    [Fact]
    public async Task ADisposedWatchdogPingsNoMore()
    {
        using var rig = new WatchedSocket(Interval);
        rig.Socket.StartPinging();
        var buffer = new byte[4096];
        var firstFrame = rig.Client.ReceiveAsync(buffer, CancellationToken.None);

        rig.Watchdog.Dispose();
        await AdvanceAsync(rig.Time, TimeSpan.FromSeconds(30));

        Assert.False(firstFrame.IsCompleted, "a disposed watchdog's ping beat still ran");
        rig.Socket.Stop();
    }

    [Fact]
    public void ADisposedWatchdogNoLongerListensForTheApplicationStopping()
    {
        // The stopping token lives as long as the application: a watchdog left registered on it would be kept, with
        // every socket it still knows.
        var time = new FakeTimeProvider();
        using var lifetime = new StoppingLifetime();
        var watchdog = new CompatSendWatchdog(Options.Create(new CompatOptions()), time, null, lifetime);
        using var webSocket = WebSocket.CreateFromStream(new MemoryStream(), isServer: true, null, Timeout.InfiniteTimeSpan);
        var socket = new CompatSocket(webSocket, new CompatOptions(), time, watchdog);
        using var watched = watchdog.Watch(socket);

        watchdog.Dispose();
        lifetime.Stop();

        Assert.False(socket.Stopping.IsCancellationRequested, "a disposed watchdog still stopped its sockets when the application stopped");
    }

    private sealed class StoppingLifetime : IHostApplicationLifetime, IDisposable
    {
        private readonly CancellationTokenSource _stopping = new();

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => _stopping.Token;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => _stopping.Cancel();

        public void Stop() => _stopping.Cancel();

        public void Dispose() => _stopping.Dispose();
    }

    /// <summary>
    /// A raw socket as the server makes one, on a fake clock: the server end of an in-memory connection wrapped in a
    /// <see cref="CompatSocket"/> and watched by a <see cref="CompatSendWatchdog"/> with the given ping interval, and a
    /// real client WebSocket at the other end.
    /// </summary>
    private sealed class WatchedSocket : IDisposable
    {
        private readonly WebSocket _server;
        private readonly CompatSendWatchdog.Watched _watched;

        public WatchedSocket(TimeSpan pingInterval)
        {
            var (serverSide, clientSide) = InMemoryConnection.Create();
            _server = WebSocket.CreateFromStream(serverSide, isServer: true, null, Timeout.InfiniteTimeSpan);
            Client = WebSocket.CreateFromStream(clientSide, isServer: false, null, Timeout.InfiniteTimeSpan);
            Watchdog = new CompatSendWatchdog(Options.Create(new CompatOptions()), Time, Options.Create(new StreamingOptions { PingInterval = pingInterval }));
            Socket = new CompatSocket(_server, new CompatOptions(), Time, Watchdog);
            _watched = Watchdog.Watch(Socket);
        }

        public FakeTimeProvider Time { get; } = new();

        public WebSocket Client { get; }

        public CompatSendWatchdog Watchdog { get; }

        public CompatSocket Socket { get; }

        public void Dispose()
        {
            _watched.Dispose();
            Watchdog.Dispose();
            Client.Dispose();
            _server.Dispose();
        }
    }

    // A ping is sent, and a received message noted, on a thread-pool turn: give it that turn before the clock moves on.
    private static async Task AdvanceAsync(FakeTimeProvider time, TimeSpan by)
    {
        time.Advance(by);
        await Task.Delay(TimeSpan.FromMilliseconds(100));
    }
}
