using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using Microsoft.AspNetCore.SignalR;

namespace Felix.Bench.Soak;

/// <summary>What the loops share: the server's address and key, the deadline, the workflows created so far, the counts.</summary>
internal sealed class SoakContext
{
    private const int RecentKept = 40;

    private readonly ConcurrentQueue<string> _recent = new();
    private readonly ConcurrentDictionary<string, byte> _created = new();
    private readonly ConcurrentDictionary<string, long> _counts = new();

    public SoakContext(SoakOptions options)
    {
        Options = options;
        Until = DateTime.UtcNow.AddMinutes(options.Minutes);
        Http = new HttpClient { BaseAddress = new Uri(options.BaseUrl), Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
    }

    public SoakOptions Options { get; }

    public HttpClient Http { get; }

    public DateTime Until { get; }

    public bool Running => DateTime.UtcNow < Until;

    public int CreatedCount => _created.Count;

    public IEnumerable<string> CreatedIds => _created.Keys;

    public IEnumerable<KeyValuePair<string, long>> Counts => _counts.OrderBy(k => k.Key, StringComparer.Ordinal);

    public static Random Random => Random.Shared;

    public void Count(string name) => _counts.AddOrUpdate(name, 1, (_, v) => v + 1);

    public void Created(string workflowId)
    {
        _created[workflowId] = 0;
        _recent.Enqueue(workflowId);
        while (_recent.Count > RecentKept)
        {
            _recent.TryDequeue(out _);
        }
    }

    /// <summary>One of the last few workflows created: running or just finished, the ones clients follow.</summary>
    public string? PickRecent()
    {
        var recent = _recent.ToArray();
        return recent.Length == 0 ? null : recent[Random.Next(Math.Max(0, recent.Length - 12), recent.Length)];
    }

    /// <summary>
    /// Runs one iteration of a loop; the failures churn can cause (a refused or dropped connection, a timeout) are counted
    /// under the loop's name, so the run goes on and the summary shows them. Anything else is a bug in the client: it stops the run.
    /// </summary>
    public async Task GuardAsync(string loop, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or HttpRequestException or IOException
            or InvalidOperationException or HubException or TimeoutException)
        {
            Count($"{loop}.error.{ex.GetType().Name}");
            if (ex is HubException or InvalidOperationException)
            {
                Count($"{loop}.error.{ex.Message[..Math.Min(80, ex.Message.Length)]}");
            }
        }
    }

    public Uri WebSocketUri(string pathAndQuery) =>
        new(Options.BaseUrl.Replace("http", "ws", StringComparison.Ordinal) + pathAndQuery);
}
