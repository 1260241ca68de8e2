using System.Globalization;
using Felix.Contracts;
using Felix.Server.Streaming;

namespace Felix.Server.Compat;

/// <summary>
/// The query of a raw workflow stream: <c>last_event_id</c> (resume), <c>types</c> (default: the documented types;
/// <c>all</c> for every type), <c>agent_id</c> and <c>min_confidence</c>.
/// </summary>
internal sealed record CompatQuery(string? Epoch, long? AfterSequence, EventFilter Filter)
{
    public static bool TryParse(IQueryCollection query, out CompatQuery parsed, out string error)
    {
        parsed = new CompatQuery(null, null, EventFilter.All);
        error = "";
        string? epoch = null;
        long? after = null;
        if (query.TryGetValue("last_event_id", out var lastEventId) && !string.IsNullOrEmpty(lastEventId))
        {
            if (!EventIds.TryParse(lastEventId, out var e, out var sequence))
            {
                error = "Invalid last_event_id";
                return false;
            }

            (epoch, after) = (e, sequence);
        }

        double? minConfidence = null;
        if (query.TryGetValue("min_confidence", out var min) && !string.IsNullOrEmpty(min))
        {
            if (!double.TryParse(min, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value is < 0 or > 1 || double.IsNaN(value))
            {
                error = "min_confidence must be a number between 0 and 1";
                return false;
            }

            minConfidence = value;
        }

        IReadOnlySet<string>? types;
        try
        {
            types = EventFilter.ParseTypes(query["types"], EventTypes.Documented);
        }
        catch (ArgumentException)
        {
            error = CompatCloseCodes.UnknownEventType;
            return false;
        }

        parsed = new CompatQuery(epoch, after, new EventFilter(types, EventFilter.ParseList(query["agent_id"]), minConfidence));
        return true;
    }
}
