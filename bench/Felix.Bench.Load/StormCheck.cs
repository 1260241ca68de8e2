using System.Globalization;
using System.Text.Json;

namespace Felix.Bench.Load;

/// <summary>One stored event, as <c>GET /api/v1/workflows/{id}/events</c> pages it.</summary>
internal readonly record struct StoredEvent(long Sequence, string EventId, string Type);

/// <summary>A workflow's stored history, by position.</summary>
internal sealed class StoredHistory
{
    private readonly Dictionary<long, StoredEvent> _bySequence = [];

    public StoredHistory(IEnumerable<StoredEvent> events)
    {
        foreach (var stored in events)
        {
            _bySequence[stored.Sequence] = stored;
        }

        First = _bySequence.Count > 0 ? _bySequence.Keys.Min() : 1;
        Last = _bySequence.Count > 0 ? _bySequence.Keys.Max() : 0;
    }

    public long First { get; }

    public long Last { get; }

    /// <summary>Positions missing between the first and the last stored event (none: the history itself has no hole).</summary>
    public long Holes => Last - First + 1 - _bySequence.Count;

    public bool TryGet(long sequence, out StoredEvent stored) => _bySequence.TryGetValue(sequence, out stored);

    /// <summary>Every event of the workflow, page by page (<c>after</c>, <c>limit</c> 1000, <c>next_after</c>, <c>has_more</c>).</summary>
    public static async Task<List<StoredEvent>> ReadAsync(HttpClient http, string workflowId, long after = 0)
    {
        var events = new List<StoredEvent>();
        while (true)
        {
            using var response = await http.GetAsync(string.Create(CultureInfo.InvariantCulture, $"/api/v1/workflows/{workflowId}/events?after={after}&limit=1000"));
            using var page = JsonDocument.Parse(await response.EnsureSuccessStatusCode().Content.ReadAsStreamAsync());
            foreach (var e in page.RootElement.GetProperty("events").EnumerateArray())
            {
                events.Add(new StoredEvent(e.GetProperty("sequence").GetInt64(), e.GetProperty("event_id").GetString()!, e.GetProperty("type").GetString()!));
            }

            if (!page.RootElement.GetProperty("has_more").GetBoolean())
            {
                return events;
            }

            after = page.RootElement.GetProperty("next_after").GetInt64();
        }
    }
}

/// <summary>How one client's events compare with its workflow's stored history.</summary>
internal readonly record struct StormVerdict(long Checked, long Missing, long Duplicates, long Mismatches, bool Behind)
{
    public bool Exact => Missing == 0 && Duplicates == 0 && Mismatches == 0 && !Behind;

    /// <summary>
    /// A client that watched from the start must hold exactly the stored events from the first one up to its last, each
    /// once, in order, with the stored event id and type: a hole is a gap, a position at or below one it already has is a
    /// duplicate. <paramref name="mustReach"/> is a position stored a few seconds before the client stopped reading: a
    /// client short of it was left behind.
    /// </summary>
    public static StormVerdict Of(IReadOnlyList<StormEvent> events, string? epoch, StoredHistory history, long mustReach)
    {
        long missing = 0, duplicates = 0, mismatches = 0;
        var expected = history.First;
        foreach (var received in events)
        {
            if (received.Sequence < expected)
            {
                duplicates++;
                continue;
            }

            missing += received.Sequence - expected;
            expected = received.Sequence + 1;
            if (!history.TryGet(received.Sequence, out var stored) || stored.Type != received.Type
                || stored.EventId != string.Create(CultureInfo.InvariantCulture, $"{epoch}-{received.Sequence}"))
            {
                mismatches++;
            }
        }

        return new StormVerdict(events.Count, missing, duplicates, mismatches, expected - 1 < mustReach);
    }
}
