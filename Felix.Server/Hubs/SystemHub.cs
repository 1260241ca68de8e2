using Felix.Contracts;
using Felix.Server.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;

namespace Felix.Server.Hubs;

/// <summary>Pushes <see cref="ISystemClient.SystemEvent"/> to every connected client; clients call nothing.</summary>
/// <remarks>System events concern every tenant, so only the admin scope may listen.</remarks>
[Authorize(Policy = FelixClaims.AdminPolicy)]
internal sealed class SystemHub(HubConnectionCounter counter, TimeProvider time) : Hub<ISystemClient>
{
    public override Task OnConnectedAsync()
    {
        // Counted last: SignalR does not call OnDisconnectedAsync for a connection whose OnConnectedAsync threw.
        HubConnectionExpiry.Start(Context, time);
        counter.Connected();
        return Task.CompletedTask;
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        counter.Disconnected();
        HubConnectionExpiry.Stop(Context);
        return Task.CompletedTask;
    }
}
