using Microsoft.AspNetCore.SignalR;

namespace Felix.Server.Hubs;

/// <summary>
/// Starts a hub send without awaiting it, with a deadline: SignalR aborts a connection whose write is still blocked
/// when the deadline passes, so a stalled client never holds up the sender. Failures are reported, not thrown.
/// </summary>
internal static class DeadlineSend
{
    public static void Start(IClientProxy clients, string method, object argument, TimeSpan deadline, Action<Exception> onFailed)
    {
        var timeout = new CancellationTokenSource(deadline);
        var send = clients.SendCoreAsync(method, [argument], timeout.Token);
        if (send.IsCompletedSuccessfully)
        {
            timeout.Dispose();
            return;
        }

        _ = ObserveAsync(send, timeout, onFailed);
    }

    private static async Task ObserveAsync(Task send, CancellationTokenSource timeout, Action<Exception> onFailed)
    {
        try
        {
            await send;
        }
        catch (Exception ex)
        {
            onFailed(ex);
        }
        finally
        {
            timeout.Dispose();
        }
    }
}
