using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Felix.Bench.Soak;

/// <summary>
/// Reads every listed workflow's stored history back over REST and checks it is whole: at least one event, sequences
/// contiguous from 1 under one epoch (one run, never restarted), at most one <c>pending</c> and one <c>running</c>
/// status, exactly one terminal event (<c>workflow_complete</c>, <c>workflow_error</c> or status <c>cancelled</c>) and it
/// is the last, and the workflow's own status is a final one.
/// </summary>
internal static class HistoryCheck
{
    private static readonly string[] FinalStatuses = ["completed", "failed", "cancelled"];

    public static async Task<bool> RunAsync(SoakOptions options)
    {
        using var http = new HttpClient { BaseAddress = new Uri(options.BaseUrl), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        var ids = new HashSet<string>((await File.ReadAllLinesAsync(options.CheckFile!)).Select(l => l.Trim()).Where(l => l.Length > 0), StringComparer.Ordinal);
        var listed = ids.Count;
        if (options.AllStored)
        {
            // AG-UI runs are workflows too, created under ids the client does not see: on a server of its own the soak
            // reads them from the list.
            ids.UnionWith(await ListAllAsync(http));
        }

        var problems = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var endings = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var examples = new ConcurrentQueue<string>();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (id, ct) =>
        {
            var (ending, found) = await CheckAsync(http, id, ct);
            endings.AddOrUpdate(ending, 1, (_, n) => n + 1);
            foreach (var problem in found)
            {
                problems.AddOrUpdate(problem, 1, (_, n) => n + 1);
            }

            if (found.Count > 0 && examples.Count < 5)
            {
                examples.Enqueue($"{id}: {string.Join(", ", found)}");
            }
        });

        Console.WriteLine($"histories: {ids.Count} workflows ({listed} from the ids file)");
        Console.WriteLine("  status / last event: " + string.Join(", ", endings.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}")));
        Console.WriteLine("  problems: " + (problems.IsEmpty ? "none" : string.Join(", ", problems.Select(p => $"{p.Key}={p.Value}"))));
        foreach (var example in examples)
        {
            Console.WriteLine($"  e.g. {example}");
        }

        return problems.IsEmpty && ids.Count > 0;
    }

    private static async Task<(string Ending, List<string> Problems)> CheckAsync(HttpClient http, string id, CancellationToken cancellationToken)
    {
        var events = new List<JsonElement>();
        long after = 0;
        while (true)
        {
            using var page = JsonDocument.Parse(await http.GetStringAsync($"/api/v1/workflows/{id}/events?after={after}&limit=1000", cancellationToken));
            events.AddRange(page.RootElement.GetProperty("events").EnumerateArray().Select(e => e.Clone()));
            if (!page.RootElement.TryGetProperty("has_more", out var more) || !more.GetBoolean())
            {
                break;
            }

            after = page.RootElement.GetProperty("next_after").GetInt64();
        }

        using var workflow = JsonDocument.Parse(await http.GetStringAsync($"/api/v1/workflows/{id}", cancellationToken));
        var status = workflow.RootElement.GetProperty("status").GetString() ?? "?";
        var problems = new List<string>();
        if (!FinalStatuses.Contains(status))
        {
            problems.Add($"status {status}");
        }

        if (events.Count == 0)
        {
            problems.Add("no events");
            return ($"{status}/none", problems);
        }

        var sequences = events.Select(e => e.GetProperty("sequence").GetInt64()).ToList();
        if (sequences[0] != 1)
        {
            problems.Add($"first sequence {sequences[0]}");
        }

        if (sequences.Zip(sequences.Skip(1)).Any(p => p.Second != p.First + 1))
        {
            problems.Add("gap or duplicate");
        }

        if (events.Select(e => e.GetProperty("epoch").ToString()).Distinct(StringComparer.Ordinal).Count() != 1)
        {
            problems.Add("more than one epoch");
        }

        var statuses = events.Where(e => Type(e) == "workflow_status").Select(StatusOf).ToList();
        if (statuses.Count(s => s == "pending") > 1 || statuses.Count(s => s == "running") > 1)
        {
            problems.Add("more than one run");
        }

        var terminals = events.Count(IsTerminal);
        if (terminals != 1)
        {
            problems.Add($"{terminals} terminal events");
        }

        if (!IsTerminal(events[^1]))
        {
            problems.Add("last event not terminal");
        }

        var last = Type(events[^1]) == "workflow_status" ? $"status:{StatusOf(events[^1])}" : Type(events[^1]);
        return ($"{status}/{last}", problems);
    }

    private static string? Type(JsonElement e) => e.GetProperty("type").GetString();

    private static string? StatusOf(JsonElement e) => e.TryGetProperty("status", out var s) ? s.GetString() : null;

    private static bool IsTerminal(JsonElement e) =>
        Type(e) is "workflow_complete" or "workflow_error" || (Type(e) == "workflow_status" && StatusOf(e) == "cancelled");

    private static async Task<List<string>> ListAllAsync(HttpClient http)
    {
        var ids = new List<string>();
        for (var page = 1; ; page++)
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync($"/api/v1/workflows?page={page}&page_size=100"));
            var items = doc.RootElement.GetProperty("workflows").EnumerateArray().Select(w => w.GetProperty("workflow_id").GetString()!).ToList();
            ids.AddRange(items);
            if (items.Count < 100)
            {
                return ids;
            }
        }
    }
}
