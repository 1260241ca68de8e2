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
        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }

        httpContext.Response.StatusCode = bad.StatusCode;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails
            {
                Status = bad.StatusCode,
                // A 413's title and detail are RequestSizeLimit.DescribeTooLarge's, as for every 413.
                Title = "Malformed request",
                Detail = Describe(bad),
            },
        });
    }

    private static string Describe(BadHttpRequestException bad) =>
        bad.InnerException is System.Text.Json.JsonException
            ? "The request body is not valid JSON for this endpoint."
            : bad.Message;
}
