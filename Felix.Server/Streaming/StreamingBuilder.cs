namespace Felix.Server.Streaming;

/// <summary>
/// What <see cref="StreamingExtensions.AddStreaming"/> returns: the streaming core, waiting for its one backend. Each
/// backend's <c>UseX</c> (<c>UseSqlite</c> or <c>UseInMemory</c> in Storage/, <c>UseRedis</c> in Scaleout/) registers the
/// broker's log, the workflow store, the dispatcher and whatever runs beside them, once; nothing is replaced later.
/// </summary>
internal interface IStreamingBuilder
{
    IServiceCollection Services { get; }
}

internal sealed class StreamingBuilder(IServiceCollection services) : IStreamingBuilder
{
    public IServiceCollection Services { get; } = services;
}
