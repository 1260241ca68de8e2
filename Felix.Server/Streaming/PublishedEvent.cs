using System.Text.Json;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;

namespace Felix.Server.Streaming;

/// <summary>
/// An event on its way to subscribers. Encodings are computed once per event, not once per subscriber.
/// </summary>
internal sealed class PublishedEvent(WorkflowEvent evt)
{
    /// <summary>
    /// The raw protocol's JSON. Text is escaped as the original's Python server escaped it (<see cref="PythonJsonEncoder"/>:
    /// <c>\"</c>, and accented letters, emoji, <c>&lt;</c> or <c>&amp;</c> as they are), not as <c>\u0022</c>, <c>\u00E4</c>
    /// or surrogate pairs: the frames go to JSON parsers, never into HTML, so HTML-safe escapes only make them differ from
    /// the original's (and longer).
    /// </summary>
    internal static readonly JsonSerializerOptions SnakeCaseJson = new(FelixSerialization.CreateSnakeCaseOptions())
    {
        Encoder = PythonJsonEncoder.Instance,
    };

    private byte[]? _snakeCaseUtf8;

    public WorkflowEvent Event { get; } = evt;

    /// <summary>The event as the raw protocol writes it (snake_case JSON, UTF-8).</summary>
    public ReadOnlyMemory<byte> SnakeCaseUtf8 =>
        _snakeCaseUtf8 ??= JsonSerializer.SerializeToUtf8Bytes(Event, Event.GetType(), SnakeCaseJson);
}
