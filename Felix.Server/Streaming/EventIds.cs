namespace Felix.Server.Streaming;

/// <summary>Event ids are <c>{epoch}-{sequence}</c>: the raw protocol's <c>last_event_id</c> carries a whole position.</summary>
internal static class EventIds
{
    public static string Format(string epoch, long sequence) => $"{epoch}-{sequence}";

    public static bool TryParse(string? eventId, out string epoch, out long sequence)
    {
        epoch = "";
        sequence = 0;
        var dash = eventId?.LastIndexOf('-') ?? -1;
        if (dash <= 0 || !long.TryParse(eventId.AsSpan(dash + 1), out sequence) || sequence < 0)
        {
            return false;
        }

        epoch = eventId![..dash];
        return true;
    }

    public static string NewEpoch() => Convert.ToHexStringLower(Guid.NewGuid().ToByteArray(), 0, 4);
}
