using Felix.Contracts.Events;
using MessagePack;
using MessagePack.Formatters;

namespace Felix.Contracts.Serialization;

/// <summary>
/// MessagePack counterpart of <see cref="WorkflowEventJsonConverter"/>: writes an event as its own type and reads it back by
/// its <c>type</c> key.
/// </summary>
public sealed class WorkflowEventFormatter : IMessagePackFormatter<WorkflowEvent?>
{
    /// <summary>The shared instance.</summary>
    public static readonly WorkflowEventFormatter Instance = new();

    /// <inheritdoc />
    public void Serialize(ref MessagePackWriter writer, WorkflowEvent? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        MessagePackSerializer.Serialize(value.GetType(), ref writer, value, options);
    }

    /// <inheritdoc />
    public WorkflowEvent? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        var raw = reader.ReadRaw();
        var peek = new MessagePackReader(raw);
        var count = peek.ReadMapHeader();
        string? type = null;
        for (var i = 0; i < count && type is null; i++)
        {
            if (peek.ReadString() == "type")
            {
                type = peek.ReadString();
            }
            else
            {
                peek.Skip();
            }
        }

        if (type is null || !EventTypes.All.TryGetValue(type, out var eventType))
        {
            throw new MessagePackSerializationException("A workflow event needs a known 'type'.");
        }

        return (WorkflowEvent?)MessagePackSerializer.Deserialize(eventType, raw, options);
    }
}
