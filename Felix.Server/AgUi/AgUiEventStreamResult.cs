using System.Reflection;
using System.Text;
using Felix.Server.Observability;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;

namespace Felix.Server.AgUi;

/// <summary>
/// Writes a run's events as server-sent events (<c>data:</c> with the JSON event, <c>id:</c> with its position), flushed
/// one by one, and a <c>: keepalive</c> comment after each <see cref="KeepAlive"/> without an event: a workflow waiting in
/// the queue or on a slow model sends nothing for minutes, and a proxy cuts a connection that is idle for long
/// (deploy/nginx.conf: 120 s). AG-UI clients skip comments.
/// </summary>
internal sealed class AgUiEventStreamResult(
    IAsyncEnumerable<AgUiFrame> frames, TimeSpan keepAlive, TimeProvider time, AgUiConnections connections, FelixMetrics metrics)
    : IResult, IEndpointMetadataProvider
{
    public const string ContentType = "text/event-stream";

    /// <summary>The <c>transport</c> of <c>felix.events.delivered</c> for the events these streams write.</summary>
    public const string Transport = "agui";

    private static readonly byte[] KeepAliveComment = ": keepalive\n\n"u8.ToArray();

    public TimeSpan KeepAlive => keepAlive;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-cache";
        httpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var cancellationToken = httpContext.RequestAborted;
        connections.Opened();
        try
        {
            await response.StartAsync(cancellationToken);
            await WriteEventsAsync(response, cancellationToken);
        }
        finally
        {
            connections.Closed();
        }
    }

    private async Task WriteEventsAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        var events = frames.GetAsyncEnumerator(cancellationToken);
        var next = events.MoveNextAsync().AsTask();
        try
        {
            while (await NextOrKeepAliveAsync(next, response, cancellationToken))
            {
                await response.Body.WriteAsync(Encode(events.Current), cancellationToken);
                await response.Body.FlushAsync(cancellationToken);
                metrics.Delivered(Transport);
                next = events.MoveNextAsync().AsTask();
            }
        }
        finally
        {
            // An async iterator cannot be disposed while a MoveNextAsync is pending; the request's end ends that wait.
            await Task.WhenAny(next);
            await events.DisposeAsync();
        }
    }

    /// <summary>Whether there is a next event, writing keepalives while waiting for it; false when the client is gone.</summary>
    private async Task<bool> NextOrKeepAliveAsync(Task<bool> next, HttpResponse response, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await next.WaitAsync(keepAlive, time, cancellationToken);
            }
            catch (TimeoutException)
            {
                await response.Body.WriteAsync(KeepAliveComment, cancellationToken);
                await response.Body.FlushAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }
    }

    private static byte[] Encode(AgUiFrame frame)
    {
        // The JSON writer escapes line breaks inside strings, so an event is always one data: line.
        var text = new StringBuilder("data: ").Append(frame.Event.ToJsonString()).Append('\n');
        if (frame.Position is { } position)
        {
            text.Append("id: ").Append(position.ToString()).Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.Append('\n').ToString());
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(string), [ContentType]));
}
