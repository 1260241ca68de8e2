using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Felix.Contracts.Dtos;
using Felix.Contracts.Serialization;

namespace Felix.Client;

/// <summary>
/// A typed client of Felix Server: workflows over REST (<c>/api/v1/workflows</c>) and their events over the workflow hub,
/// with automatic reconnect that resumes from the last received sequence.
/// </summary>
/// <remarks>
/// REST errors are thrown as <see cref="FelixApiException"/> (status and problem details). A server that cannot be
/// reached throws <see cref="HttpRequestException"/> without a status code. The client is thread-safe; each watch has its
/// own hub connection.
/// </remarks>
public sealed partial class FelixClient : IDisposable
{
    private const string WorkflowsPath = "api/v1/workflows";

    // REST speaks snake_case; requests leave absent values out so the server applies its defaults.
    internal static readonly JsonSerializerOptions RestJson =
        FelixSerialization.ConfigureSnakeCase(new JsonSerializerOptions(JsonSerializerDefaults.Web), omitNulls: true);

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    /// <summary>Creates a client that owns its <see cref="HttpClient"/> (built from <see cref="FelixClientOptions.HttpMessageHandlerFactory"/>).</summary>
    public FelixClient(FelixClientOptions options)
        : this(options.HttpMessageHandlerFactory is { } factory ? new HttpClient(factory(), disposeHandler: true) : new HttpClient(), options, ownsHttp: true)
    {
    }

    /// <summary>Creates a client over an <see cref="HttpClient"/> it does not own (for example from <c>IHttpClientFactory</c>).</summary>
    public FelixClient(HttpClient httpClient, FelixClientOptions options)
        : this(httpClient, options, ownsHttp: false)
    {
    }

    private FelixClient(HttpClient httpClient, FelixClientOptions options, bool ownsHttp)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.BaseAddress);
        _http = httpClient;
        _ownsHttp = ownsHttp;
        Options = options;
    }

    /// <summary>The options the client was created with.</summary>
    public FelixClientOptions Options { get; }

    /// <summary>Starts a workflow (<c>POST /api/v1/workflows</c>, 202) and returns it as queued.</summary>
    public async Task<WorkflowResponse> CreateWorkflowAsync(WorkflowRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var message = CreateRequest(HttpMethod.Post, WorkflowsPath);
        message.Content = JsonContent.Create(request, options: RestJson);
        return await SendAsync<WorkflowResponse>(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts a workflow on <paramref name="task"/> with at most <paramref name="maxSteps"/> agents (the server's default when null).</summary>
    public Task<WorkflowResponse> CreateWorkflowAsync(string task, int? maxSteps = null, CancellationToken cancellationToken = default) =>
        CreateWorkflowAsync(new WorkflowRequest { Task = task, MaxSteps = maxSteps }, cancellationToken);

    /// <summary>Gets a workflow (<c>GET /api/v1/workflows/{id}</c>); a 404 is thrown as <see cref="FelixApiException"/>.</summary>
    public async Task<WorkflowResponse> GetWorkflowAsync(string workflowId, CancellationToken cancellationToken = default)
    {
        using var message = CreateRequest(HttpMethod.Get, WorkflowPath(workflowId));
        return await SendAsync<WorkflowResponse>(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists workflows, newest first, optionally only those in <paramref name="status"/> (see <c>WorkflowStatuses</c>).</summary>
    public async Task<WorkflowListResponse> ListWorkflowsAsync(
        string? status = null, int page = 1, int pageSize = 20, CancellationToken cancellationToken = default)
    {
        var query = string.Create(CultureInfo.InvariantCulture, $"?page={page}&page_size={pageSize}");
        if (status is not null)
        {
            query += "&status=" + Uri.EscapeDataString(status);
        }

        using var message = CreateRequest(HttpMethod.Get, WorkflowsPath + query);
        return await SendAsync<WorkflowListResponse>(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Cancels a pending, running or waiting (awaiting_approval) workflow (<c>DELETE /api/v1/workflows/{id}</c>, 204;
    /// again 204 for one already cancelled). An unknown workflow (404) or one that completed or failed (409) is thrown
    /// as <see cref="FelixApiException"/>.
    /// </summary>
    public async Task CancelWorkflowAsync(string workflowId, CancellationToken cancellationToken = default)
    {
        using var message = CreateRequest(HttpMethod.Delete, WorkflowPath(workflowId));
        await AuthorizeAsync(message).ConfigureAwait(false);
        using var response = await _http.SendAsync(message, cancellationToken).ConfigureAwait(false);
        await ThrowIfProblemAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads a page of a workflow's event history (<c>GET /api/v1/workflows/{id}/events</c>): the events after
    /// <paramref name="afterSequence"/> of <paramref name="epoch"/> (the current epoch when null).
    /// </summary>
    public async Task<EventPage> GetEventsAsync(
        string workflowId, long afterSequence = 0, int limit = 100, string? epoch = null, CancellationToken cancellationToken = default)
    {
        var query = string.Create(CultureInfo.InvariantCulture, $"/events?after={afterSequence}&limit={limit}");
        if (epoch is not null)
        {
            query += "&epoch=" + Uri.EscapeDataString(epoch);
        }

        using var message = CreateRequest(HttpMethod.Get, WorkflowPath(workflowId) + query);
        return await SendAsync<EventPage>(message, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private static string WorkflowPath(string workflowId)
    {
        ArgumentException.ThrowIfNullOrEmpty(workflowId);
        return WorkflowsPath + "/" + Uri.EscapeDataString(workflowId);
    }

    private async Task AuthorizeAsync(HttpRequestMessage message)
    {
        if (Options.AccessTokenProvider is { } provider && await provider().ConfigureAwait(false) is { Length: > 0 } token)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    private HttpRequestMessage CreateRequest(HttpMethod method, string relative)
    {
        var message = new HttpRequestMessage(method, new Uri(Options.NormalizedBaseAddress, relative));
        if (Options.ApiKey is { Length: > 0 } key)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return message;
    }

    private async Task<T> SendAsync<T>(HttpRequestMessage message, CancellationToken cancellationToken)
    {
        await AuthorizeAsync(message).ConfigureAwait(false);
        using var response = await _http.SendAsync(message, cancellationToken).ConfigureAwait(false);
        await ThrowIfProblemAsync(response, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync<T>(RestJson, cancellationToken).ConfigureAwait(false)
            ?? throw new FelixApiException(response.StatusCode, "Empty response", $"The server sent no {typeof(T).Name}.");
    }

    private static async Task ThrowIfProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        ProblemBody? problem = null;
        try
        {
            if (response.Content.Headers.ContentLength is not 0)
            {
                problem = await response.Content.ReadFromJsonAsync<ProblemBody>(RestJson, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (JsonException)
        {
            // Not a problem document (a proxy's HTML page, say): the status line is all there is.
        }
        catch (NotSupportedException)
        {
            // No JSON content type: as above.
        }

        var title = problem?.Title ?? response.ReasonPhrase ?? response.StatusCode.ToString();
        throw new FelixApiException(response.StatusCode, title, problem?.Detail, problem?.Errors)
        {
            RetryAfter = ServerRetryAfter.DelayOf(response),
        };
    }

    private sealed class ProblemBody
    {
        public string? Title { get; set; }
        public string? Detail { get; set; }
        public Dictionary<string, string[]>? Errors { get; set; }
    }

    internal static bool IsUnauthorized(Exception exception) =>
        exception is HttpRequestException { StatusCode: HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden };
}
