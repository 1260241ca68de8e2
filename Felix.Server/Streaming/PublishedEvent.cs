using System.Text.Json;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;

namespace Felix.Server.Streaming;

/// <summary>
/// An event on its way to subscribers. Encodings are computed once per event, not once per subscriber.
/// </summary>
internal sealed class PublishedEvent(WorkflowEvent evt)
{
    internal static readonly JsonSerializerOptions SnakeCaseJson = FelixSerialization.CreateSnakeCaseOptions();

    private byte[]? _snakeCaseUtf8;

    public WorkflowEvent Event { get; } = evt;

    /// <summary>The event as the raw protocol writes it (snake_case JSON, UTF-8).</summary>
    public ReadOnlyMemory<byte> SnakeCaseUtf8 =>
        _snakeCaseUtf8 ??= JsonSerializer.SerializeToUtf8Bytes(Event, Event.GetType(), SnakeCaseJson);
}
