using System.Text.Json;
using System.Text.Json.Serialization;
using Felix.Contracts.Events;

namespace Felix.Contracts.Serialization;

/// <summary>
/// Reads and writes <see cref="WorkflowEvent"/> by its <c>type</c> field, so lists of mixed events (history pages,
/// hub streams) keep every field of each event under any naming policy.
/// </summary>
public sealed class WorkflowEventJsonConverter : JsonConverter<WorkflowEvent>
{
    /// <inheritdoc />
    public override WorkflowEvent? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        if (!document.RootElement.TryGetProperty("type", out var typeElement)
            || typeElement.ValueKind != JsonValueKind.String
            || !EventTypes.All.TryGetValue(typeElement.GetString()!, out var eventType))
        {
            throw new JsonException("A workflow event needs a known 'type'.");
        }

        return (WorkflowEvent?)document.RootElement.Deserialize(eventType, options);
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, WorkflowEvent value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value, value.GetType(), options);
}
