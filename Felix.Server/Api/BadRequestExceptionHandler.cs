using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Felix.Server.Api;

/// <summary>
/// Turns request-reading failures (malformed JSON, a bad query value, a body over the limit) into problem details with
/// their own status (400, 413) instead of an empty response or a 500.
/// </summary>
internal sealed class BadRequestExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        // The framework's JSON binding throws InvalidOperationException, a 500, for a charset it has no encoding for:
        // the client named its body's encoding wrongly, a 415 like any other body it did not send as JSON.
        if (exception is InvalidOperationException { InnerException: ArgumentException } && NamesUnknownCharset(httpContext.Request))
        {
            return await WriteAsync(httpContext, exception, StatusCodes.Status415UnsupportedMediaType, UnsupportedMediaTypeTitle, UnknownCharsetDetail);
        }

        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }

        // A 413's title and detail are RequestSizeLimit.DescribeTooLarge's, as for every 413.
        var (title, detail) = Describe(bad);
        return await WriteAsync(httpContext, exception, bad.StatusCode, title, detail);
    }

    private async ValueTask<bool> WriteAsync(HttpContext httpContext, Exception exception, int status, string title, string detail)
    {
        httpContext.Response.StatusCode = status;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }

    public const string UnsupportedMediaTypeTitle = "Unsupported Media Type";
    public const string UnsupportedMediaTypeDetail = "Send the body as JSON, with Content-Type: application/json.";
    public const string UnknownCharsetDetail = "The charset of the Content-Type is not an encoding the server reads: send the body as UTF-8 JSON, with Content-Type: application/json.";

    /// <summary>Whether the request's content type names a charset that has no encoding here (<c>charset=bogus</c>).</summary>
    private static bool NamesUnknownCharset(HttpRequest request)
    {
        if (!Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || Microsoft.Net.Http.Headers.HeaderUtilities.RemoveQuotes(mediaType.Charset) is not { HasValue: true, Length: > 0 } charset)
        {
            return false;
        }

        try
        {
            _ = System.Text.Encoding.GetEncoding(charset.ToString());
            return false;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    /// <summary>
    /// Gives every 415 the same title and detail: a body without a content type fails in its binding (above), one with
    /// another type is turned away by routing, which answers a bare 415 that the problem details service fills in.
    /// </summary>
    public static void DescribeUnsupportedMediaType(ProblemDetailsContext context)
    {
        if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType)
        {
            context.ProblemDetails.Title = UnsupportedMediaTypeTitle;
            context.ProblemDetails.Detail ??= UnsupportedMediaTypeDetail;
        }
    }

    /// <summary>
    /// What the client did wrong, in the API's words: the framework's own messages for a missing body or media type
    /// name its binding ("Implicit body inferred for parameter…"), which tells a client nothing it can act on.
    /// </summary>
    private static (string Title, string Detail) Describe(BadHttpRequestException bad) => bad switch
    {
        { StatusCode: StatusCodes.Status415UnsupportedMediaType } => (UnsupportedMediaTypeTitle, UnsupportedMediaTypeDetail),
        { InnerException: System.Text.Json.JsonException } => ("Malformed request", "The request body is not valid JSON for this endpoint."),
        _ when bad.Message.Contains(" body", StringComparison.Ordinal) => ("Malformed request", "The request needs a JSON body: none was sent, or it was null."),
        _ => ("Malformed request", bad.Message),
    };
}
