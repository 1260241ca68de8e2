using System.ComponentModel.DataAnnotations;
using Felix.Server.Platform;

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
    [Duration("00:00:00.010", InfiniteAllowed = true)]
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the server waits for a client's close reply after its own close frame. A client that reads slowly is
    /// still working through the frames sent before the close; cutting it off early would reset what it has yet to read.
    /// </summary>
    [Duration("00:00:00", InfiniteAllowed = true)]
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(DefaultCloseTimeoutSeconds);

    /// <summary>A client reading a default run's documented frames at one per second finishes well within this.</summary>
    public const int DefaultCloseTimeoutSeconds = 60;
}
