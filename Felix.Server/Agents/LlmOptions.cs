using System.ComponentModel.DataAnnotations;
using Felix.Server.Platform;

namespace Felix.Server.Agents;

/// <summary>The model back end (<c>Felix:Llm</c>).</summary>
public sealed class LlmOptions : IValidatableObject
{
    public const string SectionName = "Felix:Llm";

    public const string OfflineProvider = "Offline";
    public const string OpenAIProvider = "OpenAI";

    /// <summary><c>Offline</c> (built in, no network) or <c>OpenAI</c> (any OpenAI-compatible server).</summary>
    public string Provider { get; set; } = OfflineProvider;

    /// <summary>Base address of the OpenAI-compatible API, e.g. <c>http://127.0.0.1:1234/v1</c> for LM Studio.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Model name to ask for.</summary>
    public string Model { get; set; } = "local-model";

    /// <summary>API key, when the server wants one (local servers usually do not).</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Limit on one attempt until the response headers arrive (retried), and on any silence in the stream after them
    /// (not retried). A stream that keeps sending is not cut.
    /// </summary>
    [Duration("00:00:00.010", Maximum = "1.00:00:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Attempts after the first for transient failures.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>
    /// Longest <c>Retry-After</c> a retry waits for. A server that asks for longer (a spent quota) fails the call at once.
    /// </summary>
    [Duration("00:00:00", Maximum = "01:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = DefaultMaxRetryDelay;

    /// <summary>Covers a server's short "busy, come back in a few seconds"; a longer wait is better reported than hidden.</summary>
    public static readonly TimeSpan DefaultMaxRetryDelay = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Longest answer (or reasoning) one call takes, in characters. A server that ignores the token budget, or streams
    /// without end, fails the call here instead of filling memory, the store and every client's stream with it.
    /// </summary>
    [Range(1, 100_000_000)]
    public int MaxAnswerCharacters { get; set; } = 1_000_000;

    /// <summary>Pace of the offline model: the delay between two tokens it writes.</summary>
    [Duration("00:00:00")]
    public TimeSpan OfflineTokenDelay { get; set; } = TimeSpan.FromMilliseconds(12);

    /// <summary>Token deltas published within this window of each other are sent as one event.</summary>
    [Duration("00:00:00")]
    public TimeSpan DeltaCoalesceWindow { get; set; } = TimeSpan.FromMilliseconds(5);

    public bool IsOffline => string.Equals(Provider, OfflineProvider, StringComparison.OrdinalIgnoreCase);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!IsOffline && !string.Equals(Provider, OpenAIProvider, StringComparison.OrdinalIgnoreCase))
        {
            yield return new ValidationResult($"Felix:Llm:Provider must be '{OfflineProvider}' or '{OpenAIProvider}', not '{Provider}'.", [nameof(Provider)]);
        }

        if (string.Equals(Provider, OpenAIProvider, StringComparison.OrdinalIgnoreCase) && Endpoint is null)
        {
            yield return new ValidationResult("Felix:Llm:Endpoint is required for the OpenAI provider (e.g. http://127.0.0.1:1234/v1).", [nameof(Endpoint)]);
        }

        // The binder accepts any string as a relative Uri; the OpenAI client only fails on it when the first call is made.
        if (Endpoint is { } endpoint && !(endpoint.IsAbsoluteUri && (endpoint.Scheme == Uri.UriSchemeHttp || endpoint.Scheme == Uri.UriSchemeHttps)))
        {
            yield return new ValidationResult(
                $"Felix:Llm:Endpoint must be an absolute http or https address (e.g. http://127.0.0.1:1234/v1), not '{endpoint.OriginalString}'.", [nameof(Endpoint)]);
        }
    }
}
