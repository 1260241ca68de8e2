using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Felix.Server.Compat;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Felix.Tests.Compat;

/// <summary>
/// How a raw socket reads its client's commands: whole messages however they are fragmented, trimmed, and at most
/// <see cref="CompatOptions.MaxClientMessageBytes"/> long. A real client WebSocket talks to it over an in-memory connection.
/// </summary>
public sealed class CompatReceiveTests
{
    private const int Limit = 16;

    [Fact]
    public async Task ACommandSentInFragmentsIsReadAsOneTrimmedCommand()
    {
        using var rig = new ReceivingSocket();

        await rig.SendAsync("  pi", endOfMessage: false);
        await rig.SendAsync("n", endOfMessage: false);
        await rig.SendAsync("g \n", endOfMessage: true);
        await rig.SendAsync("\tstatus", endOfMessage: true);

        Assert.Equal("ping", await rig.Commands.Reader.ReadAsync().AsTask().DefaultTimeout());
        Assert.Equal("status", await rig.Commands.Reader.ReadAsync().AsTask().DefaultTimeout());
        await rig.Client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).DefaultTimeout();
        Assert.Null(await rig.Receiving.DefaultTimeout());
    }

    [Fact]
    public async Task AMessageOfExactlyTheLimitIsReadAndOneByteMoreIsRefusedWith1009()
    {
        using var rig = new ReceivingSocket();
        var atLimit = new string('a', Limit);

        await rig.SendAsync(atLimit[..10], endOfMessage: false);
        await rig.SendAsync(atLimit[10..], endOfMessage: true);
        Assert.Equal(atLimit, await rig.Commands.Reader.ReadAsync().AsTask().DefaultTimeout());

        await rig.SendAsync(atLimit[..10], endOfMessage: false);
        await rig.SendAsync(atLimit[10..] + "b", endOfMessage: true);
        Assert.Equal((WebSocketCloseStatus.MessageTooBig, CompatCloseCodes.MessageTooBig), await rig.Receiving.DefaultTimeout());
        Assert.False(rig.Commands.Reader.TryRead(out var extra), $"an oversized message was passed on as '{extra}'");
    }

    /// <summary>A raw socket with a 16-byte message limit, receiving into <see cref="Commands"/>, and its client.</summary>
    private sealed class ReceivingSocket : IDisposable
    {
        private readonly WebSocket _server;

        public ReceivingSocket()
        {
            var (serverSide, clientSide) = InMemoryConnection.Create();
            _server = WebSocket.CreateFromStream(serverSide, isServer: true, null, Timeout.InfiniteTimeSpan);
            Client = WebSocket.CreateFromStream(clientSide, isServer: false, null, Timeout.InfiniteTimeSpan);
            var options = new CompatOptions { MaxClientMessageBytes = Limit };
            var socket = new CompatSocket(_server, options, new FakeTimeProvider());
            Receiving = socket.ReceiveAsync(async command => await Commands.Writer.WriteAsync(command), CancellationToken.None);
        }

        public Channel<string> Commands { get; } = Channel.CreateUnbounded<string>();

        public WebSocket Client { get; }

        public Task<(WebSocketCloseStatus Status, string Reason)?> Receiving { get; }

        public Task SendAsync(string text, bool endOfMessage) =>
            Client.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage, CancellationToken.None).DefaultTimeout();

        public void Dispose()
        {
            Client.Dispose();
            _server.Dispose();
        }
    }
}
