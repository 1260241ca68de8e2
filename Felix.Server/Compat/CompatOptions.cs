using System.ComponentModel.DataAnnotations;

namespace Felix.Server.Compat;

/// <summary>The raw WebSocket endpoints (<c>Felix:Compat</c>).</summary>
public sealed class CompatOptions
{
    public const string SectionName = "Felix:Compat";

    /// <summary>Clients send only short commands (<c>ping</c>, <c>pong</c>, <c>status</c>, <c>stats</c>).</summary>
    public const int DefaultMaxClientMessageBytes = 4 * 1024;

    /// <summary>Negotiate permessage-deflate when a client offers it; never forced on one that does not.</summary>
    public bool EnableCompression { get; set; } = true;

    /// <summary>Largest message a client may send; a bigger one closes the connection with 1009.</summary>
    [Range(16, 1024 * 1024)]
    public int MaxClientMessageBytes { get; set; } = DefaultMaxClientMessageBytes;

    /// <summary>A single send that takes longer than this means the peer stopped reading: the connection is dropped.</summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
