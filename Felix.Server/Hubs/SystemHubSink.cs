using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Microsoft.AspNetCore.SignalR;

namespace Felix.Server.Hubs;

internal sealed class SystemHubSink(IHubContext<SystemHub, ISystemClient> hub) : ISystemEventSink
{
    public ValueTask DeliverAsync(SystemEvent evt) => new(hub.Clients.All.SystemEvent(evt));
}
