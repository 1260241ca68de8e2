using Felix.Server.Streaming;

namespace Felix.Server.AgUi;

/// <summary>
/// Where an AG-UI event stands in a workflow's stream: the Felix event it came from and its index among the AG-UI events
/// that event gave. Sent as the SSE <c>id:</c> (<c>{epoch}-{sequence}:{index}</c>), so a client that drops can come back
/// with <c>Last-Event-ID</c> and get exactly the events after it.
/// </summary>
internal readonly record struct AgUiPosition(string Epoch, long Sequence, int Index)
{
    public override string ToString() => $"{EventIds.Format(Epoch, Sequence)}:{Index}";

    public bool IsAfter(AgUiPosition other) => Sequence > other.Sequence || (Sequence == other.Sequence && Index > other.Index);

    public static bool TryParse(string? value, out AgUiPosition position)
    {
        position = default;
        var colon = value?.LastIndexOf(':') ?? -1;
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), out var index) || index < 0
            || !EventIds.TryParse(value![..colon], out var epoch, out var sequence))
        {
            return false;
        }

        position = new AgUiPosition(epoch, sequence, index);
        return true;
    }
}
