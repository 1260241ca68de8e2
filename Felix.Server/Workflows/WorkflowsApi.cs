using System.Security.Claims;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Server.Api;
using Felix.Server.Api.OpenApi;
using Felix.Server.Observability;
using Felix.Server.Platform;
using Felix.Server.Security;
using Felix.Server.Streaming;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Felix.Server.Workflows;

internal static class WorkflowsApi
{
    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;
    public const int MaxEventPageSize = 1000;

    public static RouteGroupBuilder MapWorkflowsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/workflows").WithTags("Workflows").RequireAuthorization().ProducesUnauthorized().AllowHead();
        group.MapPost("/", CreateAsync).AddEndpointFilter<ValidationFilter<WorkflowRequest>>().RequireWorkflowCreationLimit()
            .WithSummary("Start a workflow").WithDescription("Queues the task; watch it on the hubs or the raw WebSocket stream.")
            .WithRequestExample(WorkflowsApiExamples.Request)
            .WithResponseExample(StatusCodes.Status202Accepted, WorkflowsApiExamples.Pending)
            .ProducesMalformed("The request body is not valid JSON for this endpoint.")
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge, "Request body too large", $"Request bodies are limited to {RequestSizeLimit.MaxBodyBytes} bytes.")
            .ProducesUnsupportedMediaType()
            .ProducesValidationProblem("task", "task is required and must not be blank.")
            .ProducesProblem(StatusCodes.Status429TooManyRequests, "Too many requests", "Rate limit reached. Retry after 60 seconds.")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable, "Server busy", $"The workflow queue is full. Retry after {ProblemResponses.RetryAfterSeconds} seconds.")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable, "Server shutting down", "The server is stopping and takes no new workflows. Retry shortly, against this or another node.")
            .ProducesStorageUnavailable();
        group.MapGet("/", ListAsync).WithSummary("List workflows, newest first")
            .WithQueryValues("status", WorkflowStatuses.All)
            .WithQueryRange("page", 1)
            .WithQueryRange("page_size", 1, MaxPageSize)
            .WithResponseExample(StatusCodes.Status200OK, WorkflowsApiExamples.List)
            .ProducesMalformed("Failed to bind parameter \"int page\" from \"abc\".")
            .ProducesValidationProblem("page_size", $"page_size must be between 1 and {MaxPageSize}.");
        group.MapGet("/{workflowId}", GetAsync).WithSummary("Get a workflow")
            .WithResponseExample(StatusCodes.Status200OK, WorkflowsApiExamples.Completed)
            .ProducesProblem(StatusCodes.Status404NotFound, "Workflow not found", "There is no workflow 'wf_3f2a9c0d1e2b4a6f'.");
        group.MapDelete("/{workflowId}", CancelAsync).WithSummary("Cancel a pending or running workflow")
            .ProducesProblem(StatusCodes.Status404NotFound, "Workflow not found", "There is no workflow 'wf_3f2a9c0d1e2b4a6f'.")
            .ProducesProblem(StatusCodes.Status409Conflict, ApiProblems.WorkflowFinishedTitle, "Workflow 'wf_3f2a9c0d1e2b4a6f' is completed; only a pending, running or awaiting_approval workflow can be cancelled.")
            .ProducesStorageUnavailable();
        group.MapGet("/{workflowId}/events", GetEventsAsync).WithSummary("Read a workflow's event history, paged")
            .WithQueryRange("after", 0)
            .WithQueryRange("limit", 1, MaxEventPageSize)
            .ProducesMalformed("Failed to bind parameter \"long after\" from \"abc\".")
            .ProducesProblem(StatusCodes.Status404NotFound, "Workflow not found", "There is no workflow 'wf_3f2a9c0d1e2b4a6f'.")
            .ProducesValidationProblem("limit", $"limit must be between 1 and {MaxEventPageSize}.");
        return group;
    }

    private static async Task<Results<Accepted<WorkflowResponse>, ProblemHttpResult>> CreateAsync(
        WorkflowRequest request, ClaimsPrincipal user, WorkflowService workflows, IOptions<WorkflowOptions> options,
        HttpContext context, CancellationToken cancellationToken)
    {
        if (await workflows.CheckParentAsync(request, FelixClaims.OwnerFilter(user), cancellationToken: cancellationToken) is { } unknownParent)
        {
            return ApiProblems.Validation(unknownParent);
        }

        if (!workflows.IsAccepting)
        {
            context.Response.Headers.RetryAfter = options.Value.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return ApiProblems.ShuttingDown(options.Value.RetryAfterSeconds);
        }

        var workflow = await workflows.CreateAsync(request, FelixClaims.TenantOf(user), cancellationToken);
        if (workflow is null)
        {
            context.Response.Headers.RetryAfter = options.Value.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return ApiProblems.Busy(options.Value.RetryAfterSeconds);
        }

        WorkflowTracing.Created(context.Features.Get<IHttpActivityFeature>()?.Activity, workflow.Id);
        return TypedResults.Accepted($"/api/v1/workflows/{workflow.Id}", workflow.ToResponse());
    }

    private static async Task<Results<Ok<WorkflowListResponse>, ProblemHttpResult>> ListAsync(
        ClaimsPrincipal user, WorkflowService workflows, CancellationToken cancellationToken,
        string? status = null, int page = 1, [FromQuery(Name = "page_size")] int pageSize = DefaultPageSize)
    {
        var errors = new Dictionary<string, string[]>();
        if (status is not null && !WorkflowStatuses.All.Contains(status))
        {
            errors["status"] = [$"status must be one of {string.Join(", ", WorkflowStatuses.All)}."];
        }

        if (page < 1)
        {
            errors["page"] = ["page must be 1 or more."];
        }

        if (pageSize is < 1 or > MaxPageSize)
        {
            errors["page_size"] = [$"page_size must be between 1 and {MaxPageSize}."];
        }

        if (errors.Count > 0)
        {
            return ApiProblems.Validation(errors);
        }

        var (items, total) = await workflows.ListAsync(status, FelixClaims.OwnerFilter(user), page, pageSize, cancellationToken);
        return TypedResults.Ok(new WorkflowListResponse
        {
            Workflows = items.Select(w => w.ToResponse()).ToList(),
            Total = total,
            Page = page,
            PageSize = pageSize,
        });
    }

    private static async Task<Results<Ok<WorkflowResponse>, ProblemHttpResult>> GetAsync(
        string workflowId, ClaimsPrincipal user, WorkflowService workflows, CancellationToken cancellationToken)
    {
        var workflow = await workflows.GetAsync(workflowId, FelixClaims.OwnerFilter(user), cancellationToken);
        return workflow is null ? ApiProblems.WorkflowNotFound(workflowId) : TypedResults.Ok(workflow.ToResponse());
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> CancelAsync(
        string workflowId, ClaimsPrincipal user, WorkflowService workflows, CancellationToken cancellationToken)
    {
        var outcome = await workflows.CancelAsync(workflowId, FelixClaims.OwnerFilter(user), FelixClaims.NameOf(user), cancellationToken);
        return outcome.Result switch
        {
            CancelResult.Cancelled => TypedResults.NoContent(),
            CancelResult.NotFound => ApiProblems.WorkflowNotFound(workflowId),
            _ => ApiProblems.Conflict(
                ApiProblems.WorkflowFinishedTitle,
                $"Workflow '{workflowId}' is {outcome.Workflow?.Status}; only a pending, running or awaiting_approval workflow can be cancelled."),
        };
    }

    private static async Task<Results<Ok<EventPage>, ProblemHttpResult>> GetEventsAsync(
        string workflowId, ClaimsPrincipal user, WorkflowService workflows, IEventLog log, CancellationToken cancellationToken,
        long after = 0, int limit = 100, string? epoch = null)
    {
        // Every invalid field is named at once, as the list does: a client fixes its request in one round trip.
        var errors = new Dictionary<string, string[]>();
        if (after < 0)
        {
            errors["after"] = ["after must be 0 or more."];
        }

        if (limit is < 1 or > MaxEventPageSize)
        {
            errors["limit"] = [$"limit must be between 1 and {MaxEventPageSize}."];
        }

        if (errors.Count > 0)
        {
            return ApiProblems.Validation(errors);
        }

        if (await workflows.GetAsync(workflowId, FelixClaims.OwnerFilter(user), cancellationToken) is null)
        {
            return ApiProblems.WorkflowNotFound(workflowId);
        }

        var page = await log.ReadPageAsync(workflowId, epoch, after, limit, cancellationToken);
        return TypedResults.Ok(new EventPage
        {
            WorkflowId = workflowId,
            Epoch = page.Start.Epoch,
            Events = page.Events,
            NextAfter = page.NextAfter,
            HasMore = page.HasMore,
            ReplayedFromStart = page.Start.ReplayedFromStart,
        });
    }
}
