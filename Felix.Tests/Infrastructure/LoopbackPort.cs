using System.Net;
using System.Net.Sockets;

namespace Felix.Tests.Infrastructure;

internal static class LoopbackPort
{
    /// <summary>A loopback port nothing listens on: bound to port 0 for the system to pick one, then closed.</summary>
    public static int Unused()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
