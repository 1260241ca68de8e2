using Felix.Server.Platform;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Felix.Server.Api;

/// <summary>The problem responses of the REST API, so each status has one title and shape.</summary>
internal static class ApiProblems
{
    public const string ValidationTitle = "One or more fields are invalid.";

    public const string WorkflowFinishedTitle = "Workflow already finished";

    public static ProblemHttpResult Validation(IDictionary<string, string[]> errors) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors)
        {
            Status = StatusCodes.Status422UnprocessableEntity,
            Title = ValidationTitle,
        });

    public static ProblemHttpResult WorkflowNotFound(string workflowId) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Workflow not found", detail: $"There is no workflow '{SafeText.Escape(workflowId)}'.");

    public static ProblemHttpResult Conflict(string title, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: title, detail: detail);

    public static ProblemHttpResult Busy(int retryAfterSeconds) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "Server busy",
            detail: $"The workflow queue is full, or your tenant already has its share of it waiting. Retry after {retryAfterSeconds} seconds.",
            extensions: new Dictionary<string, object?> { ["retry_after_seconds"] = retryAfterSeconds });

    public static ProblemHttpResult ShuttingDown(int retryAfterSeconds) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "Server shutting down",
            detail: "The server is stopping and takes no new workflows. Retry shortly, against this or another node.",
            extensions: new Dictionary<string, object?> { ["retry_after_seconds"] = retryAfterSeconds });
}
