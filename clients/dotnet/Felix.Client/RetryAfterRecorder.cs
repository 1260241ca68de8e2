using System.Runtime.CompilerServices;

namespace Felix.Client;

/// <summary>
/// Keeps the last <see cref="ServerRetryAfter"/> seen on a hub connection's HTTP requests (negotiate, long polling):
/// SignalR turns a refused negotiation into an exception that has the status code but not the headers.
/// </summary>
internal sealed class RetryAfterRecorder
{
    private StrongBox<ServerRetryAfter>? _last;

    /// <summary>The refusal seen since the last call, and forgets it.</summary>
    public ServerRetryAfter? Take() => Interlocked.Exchange(ref _last, null)?.Value;

    /// <summary>A handler for one hub connection attempt (SignalR builds a new HTTP client for each) that records into this.</summary>
    public HttpMessageHandler Wrap(HttpMessageHandler inner) => new RecordingHandler(this) { InnerHandler = inner };

    private void Record(ServerRetryAfter refusal) => Interlocked.Exchange(ref _last, new StrongBox<ServerRetryAfter>(refusal));

    private sealed class RecordingHandler(RetryAfterRecorder recorder) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (ServerRetryAfter.Of(response) is { } refusal)
            {
                recorder.Record(refusal);
            }

            return response;
        }
    }
}
