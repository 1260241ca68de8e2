using System.Net;

namespace Felix.Client;

/// <summary>
/// The server answered with an error: the status code and the RFC 7807 problem details it sent (<c>title</c>,
/// <c>detail</c> and, for validation failures, <c>errors</c> per field).
/// </summary>
public sealed class FelixApiException : Exception
{
    /// <summary>Creates the exception from a problem response.</summary>
    public FelixApiException(HttpStatusCode statusCode, string title, string? detail, IReadOnlyDictionary<string, string[]>? errors = null, Exception? innerException = null)
        : base(FormatMessage(statusCode, title, detail, errors), innerException)
    {
        StatusCode = statusCode;
        Title = title;
        Detail = detail;
        Errors = errors ?? new Dictionary<string, string[]>();
    }

    /// <summary>The HTTP status code, e.g. 404.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The problem's title, e.g. <c>Workflow not found</c>.</summary>
    public string Title { get; }

    /// <summary>The problem's detail, when the server sent one.</summary>
    public string? Detail { get; }

    /// <summary>Validation errors by field (empty unless the status is 400 or 422 with field errors).</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; }

    /// <summary>
    /// The wait the server's <c>Retry-After</c> header asked for (a 503 from a draining or busy server, a 429), or null
    /// when it sent none.
    /// </summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Whether the server refused the key (401) or its rights (403).</summary>
    public bool IsAuthenticationFailure => StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden;

    private static string FormatMessage(HttpStatusCode statusCode, string title, string? detail, IReadOnlyDictionary<string, string[]>? errors)
    {
        var message = $"{(int)statusCode} {title}";
        if (!string.IsNullOrEmpty(detail))
        {
            message += $": {detail}";
        }

        if (errors is { Count: > 0 })
        {
            message += " (" + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")) + ")";
        }

        return message;
    }
}
