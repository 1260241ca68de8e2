using System.Text.Json;
using System.Text.Json.Serialization;

namespace Felix.Server.AgUi;

/// <summary>A message of the conversation; <c>content</c> is a string or a list of parts, of which the text parts count.</summary>
internal sealed class AgUiMessage
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("role")]
    public string? Role { get; set; }

    [JsonPropertyName("content")]
    public JsonElement? Content { get; set; }

    public string Text => Content switch
    {
        { ValueKind: JsonValueKind.String } text => text.GetString()!,
        { ValueKind: JsonValueKind.Array } parts => string.Join("\n", parts.EnumerateArray()
            .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("type", out var type) && type.ValueEquals("text")
                && p.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            .Select(p => p.GetProperty("text").GetString())),
        _ => "",
    };
}
