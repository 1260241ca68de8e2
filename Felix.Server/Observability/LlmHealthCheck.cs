using System.Net.Http.Headers;
using Felix.Server.Agents;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Felix.Server.Observability;

/// <summary>
/// Whether the configured model endpoint answers. Degraded, never Unhealthy, when it does not: workflows would fail
/// with a clear error, but the node still streams histories and serves every other client, so it stays in the load
/// balancer. An HTTP answer below 500 counts, except a refused key (401, 403) and a 404 (a base address without
/// <c>/v1</c>): every model call would be refused the same way. The answer is kept for <see cref="CacheFor"/> so
/// frequent readiness probes do not become a stream of calls to the model server.
/// </summary>
internal sealed class LlmHealthCheck(IOptions<LlmOptions> options, IHttpClientFactory http, TimeProvider time) : IHealthCheck
{
    public const string HttpClientName = "felix-llm-health";

    /// <summary>Short: a probe that hangs is an answer too (Degraded), and readiness probes time out in seconds.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);

    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Every OpenAI-compatible server in use (OpenAI, vLLM, Ollama, LM Studio, llama.cpp) lists its models at
    /// <c>{base}/models</c>, so a 404 there is nearly always a base address without <c>/v1</c>: every model call would
    /// answer 404 too.
    /// </summary>
    public const string EndpointNotFound =
        "The model endpoint answers HTTP 404 for /models: check Felix:Llm:Endpoint (the API's base address, which usually ends with /v1).";

    private (DateTimeOffset At, HealthCheckResult Result)? _last;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var llm = options.Value;
        if (llm.IsOffline)
        {
            return HealthCheckResult.Healthy("The built-in offline model needs no endpoint.");
        }

        if (_last is { } last && time.GetUtcNow() - last.At < CacheFor)
        {
            return last.Result;
        }

        var result = await ProbeAsync(llm, cancellationToken);
        _last = (time.GetUtcNow(), result);
        return result;
    }

    private async Task<HealthCheckResult> ProbeAsync(LlmOptions llm, CancellationToken cancellationToken)
    {
        var data = new Dictionary<string, object> { ["endpoint"] = llm.Endpoint!.ToString(), ["model"] = llm.Model };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(llm.Endpoint.ToString().TrimEnd('/') + "/models"));
        if (!string.IsNullOrEmpty(llm.ApiKey))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", llm.ApiKey);
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ProbeTimeout);
            using var response = await http.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var code = (int)response.StatusCode;
            data["status_code"] = code;
            return code switch
            {
                StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden => HealthCheckResult.Degraded(
                    string.IsNullOrEmpty(llm.ApiKey)
                        ? $"The model endpoint wants an API key (HTTP {code}): set Felix:Llm:ApiKey."
                        : $"The model endpoint refuses the API key (HTTP {code}): check Felix:Llm:ApiKey.",
                    data: data),
                StatusCodes.Status404NotFound => HealthCheckResult.Degraded(EndpointNotFound, data: data),
                < 500 => HealthCheckResult.Healthy("The model endpoint answers.", data),
                _ => HealthCheckResult.Degraded($"The model endpoint answers HTTP {code}.", data: data),
            };
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return HealthCheckResult.Degraded("The model endpoint does not answer; workflows will fail until it does.", data: data);
        }
    }
}
