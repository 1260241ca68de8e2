using System.Net;
using System.Net.Sockets;

namespace Felix.Tests.Infrastructure;

/// <summary>
/// A loopback TCP forwarder in front of a server, for clients that run as processes: <see cref="DropAll"/> cuts every
/// open connection at once, the way a network failure does, while new connections keep working. <see cref="GoDownAsync"/> and
/// <see cref="ComeBack"/> play a server that crashed and was restarted on the same port: in between, connections are refused.
/// </summary>
internal sealed class TcpDropProxy : IAsyncDisposable
{
    private readonly Uri _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(TcpClient Client, TcpClient Server)> _open = [];
    private readonly int _port;
    private TcpListener _listener = new(IPAddress.Loopback, 0);
    private Task _accepting;

    public TcpDropProxy(Uri target)
    {
        _target = target;
        _listener.Start();
        _port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync(_listener);
    }

    /// <summary>The proxy's address, to give the client instead of the server's.</summary>
    public Uri Address => new($"http://127.0.0.1:{_port}/");

    public int Dropped { get; private set; }

    /// <summary>Closes every connection open now (both sides, with a reset); returns how many there were.</summary>
    public int DropAll() => Drop(reset: true);

    private int Drop(bool reset)
    {
        lock (_open)
        {
            foreach (var (client, server) in _open)
            {
                if (reset)
                {
                    client.Client.LingerState = new LingerOption(true, 0);
                }

                client.Dispose();
                server.Dispose();
            }

            Dropped += _open.Count;
            var count = _open.Count;
            _open.Clear();
            return count;
        }
    }

    /// <summary>
    /// Stops listening and closes every open connection, as the kernel does for a server killed with SIGKILL: until <see cref="ComeBack"/>,
    /// a client's connection attempts are refused.
    /// </summary>
    public async Task GoDownAsync()
    {
        _listener.Stop();
        await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
        // The kernel closes a killed process's sockets in order (FIN), unless data was left unread.
        Drop(reset: false);
    }

    /// <summary>Listens again on the same port, as the restarted server does.</summary>
    public void ComeBack()
    {
        _listener = new TcpListener(IPAddress.Loopback, _port);
        _listener.Start();
        _accepting = AcceptAsync(_listener);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        DropAll();
        await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var server = new TcpClient();
            try
            {
                await server.ConnectAsync(_target.Host, _target.Port, _stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            lock (_open)
            {
                _open.Add((client, server));
            }

            _ = PumpAsync(client.GetStream(), server.GetStream());
            _ = PumpAsync(server.GetStream(), client.GetStream());
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to)
    {
        try
        {
            await from.CopyToAsync(to, _stop.Token);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            // A dropped or finished connection: nothing to forward any more.
        }
        finally
        {
            try
            {
                to.Socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Already dropped: the other side has seen the end.
            }
        }
    }
}
