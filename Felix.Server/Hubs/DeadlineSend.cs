using Microsoft.AspNetCore.SignalR;

namespace Felix.Server.Hubs;

/// <summary>
/// Starts a hub send without awaiting it, with a deadline: SignalR aborts a connection whose write is still blocked
/// when the deadline's token fires, so a stalled client never holds up the sender. Failures are reported, not thrown.
/// </summary>
internal static class DeadlineSend
{
    public static void Start(IClientProxy clients, string method, object argument, SharedDeadline deadline, Action<Exception> onFailed)
    {
        var send = clients.SendCoreAsync(method, [argument], deadline.Token);
        if (!send.IsCompletedSuccessfully)
        {
            _ = ObserveAsync(send, onFailed);
        }
    }

    private static async Task ObserveAsync(Task send, Action<Exception> onFailed)
    {
        try
        {
            await send;
        }
        catch (Exception ex)
        {
            onFailed(ex);
        }
    }
}
