using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Felix.Tests.Scaleout;

/// <summary>
/// A loopback forwarder in front of a real redis-server that can lose one reply: once armed with
/// <see cref="LoseReply"/>, the first reply holding the given bytes, to a request holding the given bytes, is read from
/// Redis (so the command ran) and not forwarded; the client's connection is reset instead. That is a network failure
/// between a command's execution and its answer: the client cannot tell whether the command ran. Armed with
/// <see cref="LoseRequest"/>, a request is lost before Redis sees it instead.
/// </summary>
internal sealed class RedisReplyLossProxy : IAsyncDisposable
{
    private readonly int _target;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _open = [];
    private readonly Task _accepting;
    private byte[]? _request;
    private byte[]? _reply;
    private byte[]? _unsent;

    public RedisReplyLossProxy(int redisPort)
    {
        _target = redisPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The proxy's address in StackExchange.Redis's configuration syntax, with the tests' usual timeouts.</summary>
    public string Configuration =>
        $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port},connectTimeout=20000,syncTimeout=20000,asyncTimeout=20000";

    /// <summary>Completed once a reply or a request was lost.</summary>
    public TaskCompletionSource Lost { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The first request holding these bytes never reaches Redis: the client's connection is reset instead.</summary>
    public void LoseRequest(string requestHolds) => Volatile.Write(ref _unsent, Encoding.UTF8.GetBytes(requestHolds));

    public void LoseReply(string requestHolds, string replyHolds)
    {
        _reply = Encoding.UTF8.GetBytes(replyHolds);
        Volatile.Write(ref _request, Encoding.UTF8.GetBytes(requestHolds));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_open)
        {
            _open.ForEach(c => c.Dispose());
        }

        await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            var server = new TcpClient();
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
                await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                server.Dispose();
                continue;
            }

            lock (_open)
            {
                _open.Add(client);
                _open.Add(server);
            }

            var connection = new Connection(this, client, server);
            _ = connection.ForwardRequestsAsync();
            _ = connection.ForwardRepliesAsync();
        }
    }

    private static bool Holds(ReadOnlySpan<byte> data, byte[]? what) => what is not null && data.IndexOf(what) >= 0;

    private sealed class Connection(RedisReplyLossProxy proxy, TcpClient client, TcpClient server)
    {
        private volatile bool _watching;

        public async Task ForwardRequestsAsync()
        {
            var buffer = new byte[64 * 1024];
            try
            {
                int read;
                while ((read = await client.GetStream().ReadAsync(buffer, proxy._stop.Token)) > 0)
                {
                    if (Holds(buffer.AsSpan(0, read), Volatile.Read(ref proxy._unsent)) && Interlocked.Exchange(ref proxy._unsent, null) is not null)
                    {
                        client.Client.LingerState = new LingerOption(true, 0);
                        client.Dispose();
                        proxy.Lost.TrySetResult();
                        return;
                    }

                    if (Holds(buffer.AsSpan(0, read), Volatile.Read(ref proxy._request)))
                    {
                        _watching = true;
                    }

                    await server.GetStream().WriteAsync(buffer.AsMemory(0, read), proxy._stop.Token);
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
            {
            }
            finally
            {
                server.Dispose();
            }
        }

        public async Task ForwardRepliesAsync()
        {
            var buffer = new byte[64 * 1024];
            try
            {
                int read;
                while ((read = await server.GetStream().ReadAsync(buffer, proxy._stop.Token)) > 0)
                {
                    if (_watching && Holds(buffer.AsSpan(0, read), proxy._reply) && Interlocked.Exchange(ref proxy._request, null) is not null)
                    {
                        client.Client.LingerState = new LingerOption(true, 0);
                        client.Dispose();
                        server.Dispose();
                        proxy.Lost.TrySetResult();
                        return;
                    }

                    await client.GetStream().WriteAsync(buffer.AsMemory(0, read), proxy._stop.Token);
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
            {
            }
            finally
            {
                client.Dispose();
            }
        }
    }
}
