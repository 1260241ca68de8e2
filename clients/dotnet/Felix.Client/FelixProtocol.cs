namespace Felix.Client;

/// <summary>The SignalR hub protocol a <see cref="FelixClient"/> speaks. Both carry the same event objects.</summary>
public enum FelixProtocol
{
    /// <summary>JSON text frames (camelCase fields).</summary>
    Json,

    /// <summary>MessagePack binary frames: smaller and faster to parse; needs WebSockets or long polling.</summary>
    MessagePack,
}
