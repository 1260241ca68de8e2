using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace Felix.Server.Hubs;

/// <summary>
/// SignalR's in-memory lifetime manager that also keeps each group's members as an immutable array, replaced on every
/// change, so <see cref="GroupSendCoalescer"/> can note who is in a group when an event is published (the same moment a
/// group send reads it) and write to those connections later. Groups are this node's only: in scale-out each node
/// writes the events its fan-out delivers to its own members.
/// </summary>
internal sealed class GroupMembership<THub>(ILogger<DefaultHubLifetimeManager<THub>> logger)
    : DefaultHubLifetimeManager<THub>(logger) where THub : Hub
{
    private readonly Lock _sync = new();
    private readonly Dictionary<string, HubConnectionContext> _connections = new(StringComparer.Ordinal);
    // A list, not a set: a connection is in a group or two, and this is kept for every connection for its whole life.
    private readonly Dictionary<string, List<string>> _groupsOfConnection = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HubConnectionContext[]> _members = new(StringComparer.Ordinal);

    /// <summary>The group's members now; the array is never changed afterwards.</summary>
    public HubConnectionContext[] Members(string groupName) =>
        _members.TryGetValue(groupName, out var members) ? members : [];

    /// <summary>How many groups the connection is in, and whether <paramref name="groupName"/> is one of them.</summary>
    public (int Count, bool Member) MembershipOf(string connectionId, string groupName)
    {
        lock (_sync)
        {
            return _groupsOfConnection.TryGetValue(connectionId, out var groups) ? (groups.Count, groups.Contains(groupName)) : (0, false);
        }
    }

    public override Task OnConnectedAsync(HubConnectionContext connection)
    {
        lock (_sync)
        {
            _connections[connection.ConnectionId] = connection;
        }

        return base.OnConnectedAsync(connection);
    }

    public override Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        lock (_sync)
        {
            _connections.Remove(connection.ConnectionId);
            if (_groupsOfConnection.Remove(connection.ConnectionId, out var groups))
            {
                foreach (var group in groups)
                {
                    Replace(group, Members(group).Where(c => c != connection).ToArray());
                }
            }
        }

        return base.OnDisconnectedAsync(connection);
    }

    public override async Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        await base.AddToGroupAsync(connectionId, groupName, cancellationToken);
        lock (_sync)
        {
            if (_connections.TryGetValue(connectionId, out var connection) && GroupsOf(connectionId) is var groups && !groups.Contains(groupName))
            {
                groups.Add(groupName);
                Replace(groupName, [.. Members(groupName), connection]);
            }
        }
    }

    public override async Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        await base.RemoveFromGroupAsync(connectionId, groupName, cancellationToken);
        lock (_sync)
        {
            if (_groupsOfConnection.TryGetValue(connectionId, out var groups) && groups.Remove(groupName))
            {
                Replace(groupName, Members(groupName).Where(c => c.ConnectionId != connectionId).ToArray());
            }
        }
    }

    private List<string> GroupsOf(string connectionId)
    {
        if (!_groupsOfConnection.TryGetValue(connectionId, out var groups))
        {
            _groupsOfConnection[connectionId] = groups = new List<string>(1);
        }

        return groups;
    }

    /// <summary>Copy-on-write under the lock: a reader holds the old array or the new one, never one being changed.</summary>
    private void Replace(string groupName, HubConnectionContext[] members)
    {
        if (members.Length == 0)
        {
            _members.TryRemove(groupName, out _);
        }
        else
        {
            _members[groupName] = members;
        }
    }
}
