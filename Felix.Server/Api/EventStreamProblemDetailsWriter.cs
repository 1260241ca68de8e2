using Microsoft.Net.Http.Headers;

namespace Felix.Server.Api;

/// <summary>
/// Problem details for a client that accepts only <c>text/event-stream</c> (an AG-UI client, SignalR's server-sent
/// events), written by the framework's own JSON writer: with its <c>trace_id</c> and the API's titles and details.
/// </summary>
/// <remarks>
/// The framework's writer refuses a request whose Accept names no JSON type, and every refusal before a stream starts
/// (401, 413, 415, 422, 429, ...) then went out without its trace id, or as text. A client that asked for a stream and
/// was refused reads no stream: the problem is what it needs, and the status alone says no more than "no". Registered
/// after the framework's writer, so it only answers what that writer turned down.
/// </remarks>
internal sealed class EventStreamProblemDetailsWriter(IServiceProvider services) : IProblemDetailsWriter
{
    private static readonly MediaTypeHeaderValue EventStream = new("text/event-stream");

    // Resolved on first use: the writers are resolved as a list that holds this one.
    private IProblemDetailsWriter? _json;

    public bool CanWrite(ProblemDetailsContext context) =>
        context.HttpContext.Request.GetTypedHeaders().Accept.Any(EventStream.IsSubsetOf);

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        // The framework's writer checks the Accept header only in CanWrite; its WriteAsync writes problem+json.
        _json ??= services.GetServices<IProblemDetailsWriter>().First(writer => writer is not EventStreamProblemDetailsWriter);
        return _json.WriteAsync(context);
    }
}
