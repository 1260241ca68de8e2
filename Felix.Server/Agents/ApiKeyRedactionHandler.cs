namespace Felix.Server.Agents;

/// <summary>
/// Takes the API key out of an error answer's body before the OpenAI SDK makes that body the exception's message: some
/// servers and proxies quote the key they refused, and the message is logged (the failure's cause line, its stack at
/// Debug). Inside the resilience pipeline, so reading the body counts towards the attempt's timeout.
/// </summary>
internal sealed class ApiKeyRedactionHandler(string? apiKey) : DelegatingHandler
{
    public const string Redacted = "***";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (response.IsSuccessStatusCode || string.IsNullOrEmpty(apiKey))
        {
            return response;
        }

        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var redacted = new StringContent(body.Replace(apiKey, Redacted, StringComparison.Ordinal));
        redacted.Headers.ContentType = response.Content.Headers.ContentType;
        response.Content.Dispose();
        response.Content = redacted;
        return response;
    }
}
