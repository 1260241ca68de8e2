using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text;
using Felix.Server.Compat;
using Felix.Server.Streaming;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Felix.Tests.Compat;

/// <summary>
/// The original protocol's keepalive: a JSON ping after each <see cref="StreamingOptions.PingInterval"/> without a
/// message from the client. The raw socket runs on a fake clock over an in-memory connection, with a real client
/// WebSocket at the other end.
/// </summary>
public sealed class CompatKeepaliveTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task AClientThatTalksIsNotPingedUntilItHasBeenQuietForAWholeInterval()
    {
        var time = new FakeTimeProvider();
        var (serverSide, clientSide) = InMemoryConnection.Create();
        using var server = WebSocket.CreateFromStream(serverSide, isServer: true, null, Timeout.InfiniteTimeSpan);
        using var client = WebSocket.CreateFromStream(clientSide, isServer: false, null, Timeout.InfiniteTimeSpan);
        var socket = new CompatSocket(server, new CompatOptions(), new StreamingOptions { PingInterval = Interval }, time);
        var heard = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var receiving = socket.ReceiveAsync(text => { heard.TrySetResult(text); return Task.CompletedTask; }, stop.Token);
        var pinging = socket.PingAsync(stop.Token);
        var buffer = new byte[4096];
        var firstFrame = client.ReceiveAsync(buffer, CancellationToken.None);

        // The client speaks 6 s in, so at 10 s it has been quiet for 4 s: no ping until 16 s.
        time.Advance(TimeSpan.FromSeconds(6));
        await client.SendAsync("hello"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).DefaultTimeout();
        Assert.Equal("hello", await heard.Task.DefaultTimeout());
        await AdvanceAsync(time, TimeSpan.FromSeconds(4));
        await AdvanceAsync(time, TimeSpan.FromSeconds(5.5));
        Assert.False(firstFrame.IsCompleted, "the client was pinged though it had spoken less than an interval before");

        await AdvanceAsync(time, TimeSpan.FromSeconds(1));
        var frame = await firstFrame.DefaultTimeout();
        Assert.Contains("\"type\":\"ping\"", Encoding.UTF8.GetString(buffer, 0, frame.Count), StringComparison.Ordinal);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pinging).DefaultTimeout();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receiving).DefaultTimeout();
    }

    // The keepalive loop re-arms its delay on a thread-pool turn after a timer fires: give it that turn before the
    // clock moves on, or the next delay would start late.
    private static async Task AdvanceAsync(FakeTimeProvider time, TimeSpan by)
    {
        time.Advance(by);
        await Task.Delay(TimeSpan.FromMilliseconds(100));
    }

    /// <summary>Two ends of an in-memory connection: what one end writes the other reads.</summary>
    private sealed class InMemoryConnection(PipeReader input, PipeWriter output) : Stream
    {
        public static (Stream ServerSide, Stream ClientSide) Create()
        {
            var (toServer, toClient) = (new Pipe(), new Pipe());
            return (new InMemoryConnection(toServer.Reader, toClient.Writer), new InMemoryConnection(toClient.Reader, toServer.Writer));
        }

        private readonly Stream _input = input.AsStream();
        private readonly Stream _output = output.AsStream();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _input.ReadAsync(buffer, cancellationToken);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            _output.WriteAsync(buffer, cancellationToken);

        public override Task FlushAsync(CancellationToken cancellationToken) => _output.FlushAsync(cancellationToken);

        public override void Flush() => _output.Flush();

        public override int Read(byte[] buffer, int offset, int count) => _input.Read(buffer, offset, count);

        public override void Write(byte[] buffer, int offset, int count) => _output.Write(buffer, offset, count);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _input.Dispose();
                _output.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
