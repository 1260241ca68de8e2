using System.Text.Json.Nodes;

namespace Felix.Server.AgUi;

/// <summary>
/// Something a run waits for from outside (an approval): AG-UI's <c>Interrupt</c>, with the fields
/// <c>@ag-ui/core</c>'s <c>InterruptSchema</c> defines. What the protocol has no field for travels in
/// <see cref="Metadata"/>, which is open by key.
/// </summary>
internal sealed record AgUiInterrupt(
    string Id, string Reason, string? Message = null, DateTimeOffset? ExpiresAt = null, string? SubagentRunId = null,
    JsonObject? ResponseSchema = null, JsonObject? Metadata = null)
{
    public JsonObject ToJson()
    {
        var json = new JsonObject { ["id"] = Id, ["reason"] = Reason };
        if (SubagentRunId is not null)
        {
            json["subagentRunId"] = SubagentRunId;
        }

        if (Message is not null)
        {
            json["message"] = Message;
        }

        if (ExpiresAt is { } expires)
        {
            json["expiresAt"] = Streaming.Timestamps.Format(expires);
        }

        if (ResponseSchema is not null)
        {
            json["responseSchema"] = ResponseSchema.DeepClone();
        }

        if (Metadata is not null)
        {
            json["metadata"] = Metadata.DeepClone();
        }

        return json;
    }
}
