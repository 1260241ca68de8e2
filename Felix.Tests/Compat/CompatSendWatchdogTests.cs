using System.Net.WebSockets;
using Felix.Server.Compat;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Felix.Tests.Compat;

/// <summary>The one timer that drops raw sockets whose send has run past <see cref="CompatOptions.SendTimeout"/>.</summary>
public sealed class CompatSendWatchdogTests
{
    private static readonly CompatOptions Options = new() { SendTimeout = TimeSpan.FromSeconds(1) };

    [Fact]
    public async Task ASendBlockedPastTheTimeoutIsAbortedAndFailsAsCancelled()
    {
        var time = new FakeTimeProvider();
        using var watchdog = new CompatSendWatchdog(Microsoft.Extensions.Options.Options.Create(Options), time);
        var peer = new StalledPeerStream();
        var connectionAborted = false;
        var socket = new CompatSocket(WebSocket.CreateFromStream(peer, isServer: true, null, Timeout.InfiniteTimeSpan), Options,
            new StreamingOptions(), time, watchdog, () => connectionAborted = true);
        using var watched = watchdog.Watch(socket);

        var send = socket.SendAsync("{\"type\":\"x\"}"u8.ToArray(), CancellationToken.None);
        await peer.WriteStarted.DefaultTimeout();

        time.Advance(TimeSpan.FromMilliseconds(900));
        Assert.False(send.IsCompleted);
        Assert.False(connectionAborted);

        time.Advance(TimeSpan.FromMilliseconds(400));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send).DefaultTimeout();
        Assert.True(connectionAborted);
        Assert.Equal(WebSocketState.Aborted, socket.State);
    }

    [Fact]
    public async Task SendsThatCompleteAreNeverAbortedHoweverLongTheSocketLives()
    {
        var time = new FakeTimeProvider();
        using var watchdog = new CompatSendWatchdog(Microsoft.Extensions.Options.Options.Create(Options), time);
        var connectionAborted = false;
        using var sink = new MemoryStream();
        var socket = new CompatSocket(WebSocket.CreateFromStream(sink, isServer: true, null, Timeout.InfiniteTimeSpan), Options,
            new StreamingOptions(), time, watchdog, () => connectionAborted = true);
        using var watched = watchdog.Watch(socket);

        for (var i = 0; i < 10; i++)
        {
            await socket.SendAsync("{\"type\":\"x\"}"u8.ToArray(), CancellationToken.None).DefaultTimeout();
            time.Advance(TimeSpan.FromSeconds(5));
        }

        Assert.False(connectionAborted);
        Assert.Equal(WebSocketState.Open, socket.State);
        Assert.True(sink.Length > 10 * 12);
    }

    [Fact]
    public async Task AnUnwatchedSocketIsLeftAlone()
    {
        var time = new FakeTimeProvider();
        using var watchdog = new CompatSendWatchdog(Microsoft.Extensions.Options.Options.Create(Options), time);
        var peer = new StalledPeerStream();
        var connectionAborted = false;
        var socket = new CompatSocket(WebSocket.CreateFromStream(peer, isServer: true, null, Timeout.InfiniteTimeSpan), Options,
            new StreamingOptions(), time, watchdog, () => connectionAborted = true);
        watchdog.Watch(socket).Dispose();

        var send = socket.SendAsync("{\"type\":\"x\"}"u8.ToArray(), CancellationToken.None);
        await peer.WriteStarted.DefaultTimeout();
        time.Advance(TimeSpan.FromSeconds(10));

        Assert.False(send.IsCompleted);
        Assert.False(connectionAborted);
        socket.Abort();
        await Assert.ThrowsAnyAsync<Exception>(() => send).DefaultTimeout();
    }

    /// <summary>A connection whose peer stopped reading: writes never complete until the connection is torn down.</summary>
    private sealed class StalledPeerStream : Stream
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
            _torn.TrySetException(new IOException("The connection was aborted."));
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
