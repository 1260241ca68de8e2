using System.Net.WebSockets;
using Felix.Server.Compat;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Felix.Tests.Compat;

/// <summary>The one timer that drops raw sockets whose send has run past <see cref="CompatOptions.SendTimeout"/>.</summary>
public sealed class CompatSendWatchdogTests
{
    private static readonly CompatOptions Options = new() { SendTimeout = TimeSpan.FromSeconds(1) };
    private static readonly byte[] Frame = "{\"type\":\"x\"}"u8.ToArray();

    /// <summary>
    /// A watchdog with a one-second timeout on a fake clock, and a raw socket over <c>stream</c> that records its
    /// connection's abort, watched by it unless <c>watched</c> is false.
    /// </summary>
    private sealed class Rig : IDisposable
    {
        private readonly IDisposable? _watched;

        public Rig(Stream stream, bool watched = true, HttpContext? request = null)
        {
            Watchdog = new CompatSendWatchdog(Microsoft.Extensions.Options.Options.Create(Options), Time);
            Socket = new CompatSocket(WebSocket.CreateFromStream(stream, isServer: true, null, Timeout.InfiniteTimeSpan), Options,
                Time, Watchdog, () => ConnectionAborted = true, request);
            _watched = watched ? Watchdog.Watch(Socket) : null;
        }

        public FakeTimeProvider Time { get; } = new();

        public CompatSendWatchdog Watchdog { get; }

        public CompatSocket Socket { get; }

        public bool ConnectionAborted { get; private set; }

        public void Dispose()
        {
            _watched?.Dispose();
            Watchdog.Dispose();
        }
    }

    [Fact]
    public async Task ASendBlockedPastTheTimeoutIsAbortedAndFailsAsCancelled()
    {
        var peer = new StalledPeerStream();
        using var rig = new Rig(peer);
        var time = rig.Time;

        var send = rig.Socket.SendAsync(Frame, CancellationToken.None);
        await peer.WriteStarted.DefaultTimeout();

        time.Advance(TimeSpan.FromMilliseconds(900));
        Assert.False(send.IsCompleted);
        Assert.False(rig.ConnectionAborted);

        time.Advance(TimeSpan.FromMilliseconds(400));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send).DefaultTimeout();
        Assert.True(rig.ConnectionAborted);
        Assert.Equal(WebSocketState.Aborted, rig.Socket.State);
    }

    [Fact]
    public async Task ASendPastTheTimeoutAlsoAbortsTheHttpConnectionUnderTheSocket()
    {
        // Aborting the WebSocket alone leaves a write blocked on a full TCP window in the connection below it.
        var connection = new RecordingLifetime();
        var request = new DefaultHttpContext();
        request.Features.Set<IHttpRequestLifetimeFeature>(connection);
        var peer = new StalledPeerStream();
        using var rig = new Rig(peer, request: request);

        var send = rig.Socket.SendAsync(Frame, CancellationToken.None);
        await peer.WriteStarted.DefaultTimeout();
        rig.Time.Advance(TimeSpan.FromMilliseconds(1300));

        Assert.True(connection.Aborted, "the HTTP connection under a timed-out socket was left open");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send).DefaultTimeout();
    }

    [Fact]
    public async Task ASendStartedLateInABeatStillGetsItsWholeTimeout()
    {
        var peer = new StalledPeerStream();
        using var rig = new Rig(peer);
        var time = rig.Time;

        // Beats every 250 ms: this send starts just before the second one, so it is noted at the first.
        time.Advance(TimeSpan.FromMilliseconds(240));
        var send = rig.Socket.SendAsync(Frame, CancellationToken.None);
        await peer.WriteStarted.DefaultTimeout();

        time.Advance(TimeSpan.FromMilliseconds(1000));
        Assert.False(rig.ConnectionAborted, "the send was aborted before its whole timeout had passed");

        time.Advance(TimeSpan.FromMilliseconds(20));
        Assert.True(rig.ConnectionAborted);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send).DefaultTimeout();
    }

    [Fact]
    public async Task SendsThatCompleteAreNeverAbortedHoweverLongTheSocketLives()
    {
        using var sink = new MemoryStream();
        using var rig = new Rig(sink);
        var time = rig.Time;

        for (var i = 0; i < 10; i++)
        {
            await rig.Socket.SendAsync(Frame, CancellationToken.None).DefaultTimeout();
            time.Advance(TimeSpan.FromSeconds(5));
        }

        Assert.False(rig.ConnectionAborted);
        Assert.Equal(WebSocketState.Open, rig.Socket.State);
        Assert.True(sink.Length > 10 * 12);
    }

    [Fact]
    public async Task AnUnwatchedSocketIsLeftAlone()
    {
        var peer = new StalledPeerStream();
        using var rig = new Rig(peer, watched: false);
        var time = rig.Time;
        rig.Watchdog.Watch(rig.Socket).Dispose();

        var send = rig.Socket.SendAsync(Frame, CancellationToken.None);
        await peer.WriteStarted.DefaultTimeout();
        time.Advance(TimeSpan.FromSeconds(10));

        Assert.False(send.IsCompleted);
        Assert.False(rig.ConnectionAborted);
        rig.Socket.Abort();
        await Assert.ThrowsAnyAsync<Exception>(() => send).DefaultTimeout();
    }

    [Fact]
    public async Task AConnectionThatRefusesTheAbortDoesNotStopTheOthersBeingTimedOut()
    {
        var time = new FakeTimeProvider();
        using var watchdog = new CompatSendWatchdog(Microsoft.Extensions.Options.Options.Create(Options), time);
        var refusing = new StalledPeerStream();
        var stalled = new StalledPeerStream();
        var first = new CompatSocket(WebSocket.CreateFromStream(refusing, isServer: true, null, Timeout.InfiniteTimeSpan), Options,
            time, watchdog, () => throw new ObjectDisposedException("HttpContext"));
        var secondAborted = false;
        var second = new CompatSocket(WebSocket.CreateFromStream(stalled, isServer: true, null, Timeout.InfiniteTimeSpan), Options,
            time, watchdog, () => secondAborted = true);
        using var watchedFirst = watchdog.Watch(first);
        using var watchedSecond = watchdog.Watch(second);

        var sends = new[] { first.SendAsync(Frame, CancellationToken.None), second.SendAsync(Frame, CancellationToken.None) };
        await Task.WhenAll(refusing.WriteStarted, stalled.WriteStarted).DefaultTimeout();
        time.Advance(TimeSpan.FromSeconds(2));

        Assert.True(secondAborted);
        foreach (var send in sends)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send).DefaultTimeout();
        }
    }

    [Fact]
    public async Task AnInfiniteSendTimeoutLeavesABlockedSendAlone()
    {
        var time = new FakeTimeProvider();
        var infinite = new CompatOptions { SendTimeout = Timeout.InfiniteTimeSpan };
        using var watchdog = new CompatSendWatchdog(Microsoft.Extensions.Options.Options.Create(infinite), time);
        var peer = new StalledPeerStream();
        var aborted = false;
        var socket = new CompatSocket(WebSocket.CreateFromStream(peer, isServer: true, null, Timeout.InfiniteTimeSpan), infinite,
            time, watchdog, () => aborted = true);
        using var watched = watchdog.Watch(socket);

        var send = socket.SendAsync(Frame, CancellationToken.None);
        await peer.WriteStarted.DefaultTimeout();
        time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(1, watchdog.CurrentBeat);
        Assert.False(send.IsCompleted);
        Assert.False(aborted);
        socket.Abort();
        await Assert.ThrowsAnyAsync<Exception>(() => send).DefaultTimeout();
    }

    [Fact]
    public async Task ACloseFrameTheClientDoesNotTakeIsCutOffAfterTheTimeoutLikeAnySend()
    {
        var peer = new StalledPeerStream();
        using var rig = new Rig(peer);
        var time = rig.Time;

        var close = rig.Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done");
        await peer.WriteStarted.DefaultTimeout();
        time.Advance(TimeSpan.FromMilliseconds(900));
        Assert.False(rig.ConnectionAborted);

        time.Advance(TimeSpan.FromMilliseconds(400));
        Assert.True(rig.ConnectionAborted, "a close frame the client did not take was waited on past the send timeout");
        await close.DefaultTimeout();
    }

    [Fact]
    public async Task ACloseFrameThatWentOutIsNotTimedAfterwards()
    {
        using var sink = new MemoryStream();
        using var rig = new Rig(sink);
        var time = rig.Time;

        await rig.Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done").DefaultTimeout();
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.False(rig.ConnectionAborted, "the connection was aborted after its close frame had gone out");
        Assert.Equal(WebSocketState.CloseSent, rig.Socket.State);
    }

    [Fact]
    public async Task ADisposedWatchdogTimesNoMoreSends()
    {
        var peer = new StalledPeerStream();
        using var rig = new Rig(peer);
        var time = rig.Time;

        var send = rig.Socket.SendAsync(Frame, CancellationToken.None);
        await peer.WriteStarted.DefaultTimeout();
        rig.Watchdog.Dispose();
        time.Advance(TimeSpan.FromSeconds(10));

        Assert.False(rig.ConnectionAborted, "a disposed watchdog's beat still ran");
        rig.Socket.Abort();
        await Assert.ThrowsAnyAsync<Exception>(() => send).DefaultTimeout();
    }

    [Fact]
    public async Task ASendWhoseWriteTheAbortedConnectionSwallowedStillFailsAsCancelled()
    {
        // Some connections complete a pending write quietly when they are torn down: the frame did not go out, and the
        // stream must not carry on as if the client had it.
        var peer = new StalledPeerStream(swallowWritesWhenTorn: true);
        using var rig = new Rig(peer);
        var time = rig.Time;

        var send = rig.Socket.SendAsync(Frame, CancellationToken.None);
        await peer.WriteStarted.DefaultTimeout();
        time.Advance(TimeSpan.FromMilliseconds(1300));

        Assert.True(rig.ConnectionAborted);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send).DefaultTimeout();
    }

    private sealed class RecordingLifetime : IHttpRequestLifetimeFeature
    {
        public CancellationToken RequestAborted { get; set; }

        public bool Aborted { get; private set; }

        public void Abort() => Aborted = true;
    }

    /// <summary>
    /// A connection whose peer stopped reading: writes never complete until the connection is torn down, and then fail
    /// (or, with <paramref name="swallowWritesWhenTorn"/>, complete as if they had been written).
    /// </summary>
    private sealed class StalledPeerStream(bool swallowWritesWhenTorn = false) : Stream
    {
        private readonly TaskCompletionSource _torn = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _writeStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task WriteStarted => _writeStarted.Task;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _writeStarted.TrySetResult();
            await _torn.Task.WaitAsync(cancellationToken);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await _torn.Task.WaitAsync(cancellationToken);
            return 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (swallowWritesWhenTorn)
            {
                _torn.TrySetResult();
            }
            else
            {
                _torn.TrySetException(new IOException("The connection was aborted."));
            }
            base.Dispose(disposing);
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
