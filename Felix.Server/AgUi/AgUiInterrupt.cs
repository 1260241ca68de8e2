using System.Text.Json.Nodes;

namespace Felix.Server.AgUi;

/// <summary>Something a run waits for from outside (an approval): AG-UI's <c>Interrupt</c>.</summary>
internal sealed record AgUiInterrupt(string Id, string Reason, string? Message = null, DateTimeOffset? ExpiresAt = null)
{
    public JsonObject ToJson()
    {
        var json = new JsonObject { ["id"] = Id, ["reason"] = Reason };
        if (Message is not null)
        {
            json["message"] = Message;
        }

        if (ExpiresAt is { } expires)
        {
            json["expiresAt"] = Streaming.Timestamps.Format(expires);
        }

        return json;
    }
}
