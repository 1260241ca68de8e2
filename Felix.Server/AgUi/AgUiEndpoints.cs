using System.Security.Claims;
using System.Text.Json;
using Felix.Contracts.Dtos;
using Felix.Server.Observability;
using Felix.Server.Api;
using Felix.Server.Api.OpenApi;
using Felix.Server.Approvals;
using Felix.Server.Platform;
using Felix.Server.Security;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Felix.Server.AgUi;

/// <summary>
/// <c>POST /api/v1/agui</c>: Felix as an AG-UI 1.0 agent. A run on a new thread (or with a new user message) starts a
/// workflow; a run that repeats the last user message watches that workflow again, from where the client was (its
/// <c>Last-Event-ID</c>, or the messages it holds). A run that waits for an approval ends with an interrupt; the run that
/// answers it (<c>resume</c>) decides the approval before its stream starts. Same keys, tenants, limits and problem answers
/// as the rest of the API; errors before the stream are problems (a store that is down: 503 <c>Storage unavailable</c>),
/// errors of the workflow, and a store that fails once the stream started, are <c>RUN_ERROR</c> events.
/// See docs/agui.md.
/// </summary>
internal static class AgUiEndpoints
{
    public const string Path = "/api/v1/agui";
    public const string LastEventIdHeader = "Last-Event-ID";

    /// <summary>
    /// An AG-UI client sends the whole conversation with every run, the subagents' texts and reasoning included, though
    /// only the last user message is read: a few turns of a large workflow fit, which the API's 128 KiB would not.
    /// </summary>
    public const long MaxBodyBytes = 1024 * 1024;

    private static readonly JsonSerializerOptions InputJson = new(JsonSerializerDefaults.Web);

    public static IServiceCollection AddAgUi(this IServiceCollection services) =>
        services.AddSingleton<AgUiEventStream>().AddSingleton<AgUiConnections>();

    public static RouteHandlerBuilder MapAgUi(this IEndpointRouteBuilder app) =>
        app.MapPost(Path, RunAsync).WithTags("AG-UI").RequireAuthorization().ProducesUnauthorized()
            .RequireStreamingAdmission()
            .Accepts<RunAgentInput>("application/json")
            .WithSummary("Run a workflow as an AG-UI agent, or watch it again")
            .WithDescription("Answers text/event-stream: one AG-UI 1.0 event per data: line, each with its position as the id: "
                + "line. A new thread or user message starts a workflow (the task is the last user message; forwardedProps carries "
                + "the other fields of a workflow request); repeating the last user message watches its workflow again, after the "
                + "Last-Event-ID header when given. A run that waits for an approval finishes with outcome interrupt; resume entries "
                + "in the next run decide it (needs the felix.approve scope).")
            .ProducesMalformed("The request body is not valid JSON for this endpoint.")
            .ProducesProblem(StatusCodes.Status403Forbidden, ApprovalsApi.Forbidden, ApprovalsApi.ForbiddenDetail)
            .ProducesProblem(StatusCodes.Status404NotFound, "Workflow not found", "There is no workflow 'wf_3f2a9c0d1e2b4a6f'.")
            .ProducesProblem(StatusCodes.Status409Conflict, ApprovalsApi.AlreadyDecided,
                "Interrupt 'wf_3f2a9c0d1e2b4a6f.apr_synthesis_1' was already answered. Approval 'apr_synthesis_1' was already decided: approve by alice.")
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge, "Request body too large", $"Request bodies are limited to {MaxBodyBytes} bytes.")
            .ProducesUnsupportedMediaType()
            .ProducesValidationProblem("forwardedProps.max_steps", $"max_steps must be between 1 and {WorkflowRequestValidator.MaxStepsLimit}.")
            .ProducesProblem(StatusCodes.Status429TooManyRequests, "Too many requests", "Rate limit reached. Retry after 60 seconds.")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable, "Server busy", $"The workflow queue is full. Retry after {ProblemResponses.RetryAfterSeconds} seconds.")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable, "Server shutting down", "The server is stopping and takes no new workflows. Retry shortly, against this or another node.")
            .ProducesStorageUnavailable();

    private static async Task<Results<AgUiEventStreamResult, ProblemHttpResult>> RunAsync(
        HttpRequest request, ClaimsPrincipal user, WorkflowService workflows, IValidator<WorkflowRequest> validator,
        IValidator<ApprovalDecision> decisions, ApprovalService approvals, AgUiEventStream stream, IOptions<WorkflowOptions> options, IOptions<StreamingOptions> streaming, TimeProvider time,
        CancellationToken cancellationToken)
    {
        RunAgentInput? input;
        try
        {
            input = await JsonSerializer.DeserializeAsync<RunAgentInput>(request.Body, InputJson, cancellationToken);
        }
        catch (JsonException)
        {
            input = null;
        }

        if (input is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Malformed request",
                detail: "The request body is not valid JSON for this endpoint.");
        }

        if (AgUiResume.MayDecide(input.Resume) && !FelixClaims.CanApprove(user))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: ApprovalsApi.Forbidden, detail: ApprovalsApi.ForbiddenDetail);
        }

        if (AgUiRunRequest.Read(input, validator, decisions, out var errors) is not { } run)
        {
            return ApiProblems.Validation(errors);
        }

        if (run.Resume.Count > 0 && await AgUiResume.AnswerAsync(run.Resume, run.ThreadId, user, approvals, time, cancellationToken) is { } refused)
        {
            return refused;
        }

        var tenant = FelixClaims.TenantOf(user);
        var workflowId = AgUiThreads.WorkflowId(tenant, run.ThreadId, run.MessageId);
        if (await workflows.GetAsync(workflowId, tenant, cancellationToken) is null
            && await StartAsync(workflowId, tenant, run, workflows, request.HttpContext, options.Value, cancellationToken) is { } refusal)
        {
            return refusal;
        }

        var resumeAfter = AgUiPosition.TryParse(request.Headers[LastEventIdHeader], out var position) ? position : (AgUiPosition?)null;
        return new AgUiEventStreamResult(
            stream.ReadAsync(workflowId, tenant, FelixClaims.NameOf(user), run, resumeAfter, request.HttpContext.RequestAborted), streaming.Value.PingInterval, time,
            request.HttpContext.RequestServices.GetRequiredService<AgUiConnections>(),
            request.HttpContext.RequestServices.GetRequiredService<FelixMetrics>());
    }

    /// <summary>Starts the workflow that answers the run's user message; a problem when the server cannot take it now.</summary>
    private static async Task<ProblemHttpResult?> StartAsync(
        string workflowId, string tenant, AgUiRunRequest run, WorkflowService workflows, HttpContext context, WorkflowOptions options,
        CancellationToken cancellationToken)
    {
        if (await workflows.CheckParentAsync(run.Workflow, FelixClaims.OwnerFilter(context.User), "forwardedProps.parent_workflow_id", cancellationToken) is { } unknownParent)
        {
            return ApiProblems.Validation(unknownParent);
        }

        var retryAfter = options.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!workflows.IsAccepting)
        {
            context.Response.Headers.RetryAfter = retryAfter;
            return ApiProblems.ShuttingDown(options.RetryAfterSeconds);
        }

        // Only a run that creates a workflow spends a creation; one that watches its workflow again does not.
        if (context.RequestServices.GetRequiredService<WorkflowCreationLimit>().TryTake(context) is { } limited)
        {
            return limited;
        }

        if (run.Workflow.ParentWorkflowId is null && run.PreviousMessageId is { } previous
            && await workflows.GetAsync(AgUiThreads.WorkflowId(tenant, run.ThreadId, previous), tenant, cancellationToken) is { } parent)
        {
            run.Workflow.ParentWorkflowId = parent.Id;
        }

        try
        {
            if (await workflows.CreateAsync(run.Workflow, tenant, workflowId, run.ThreadId, cancellationToken) is null)
            {
                context.Response.Headers.RetryAfter = retryAfter;
                return ApiProblems.Busy(options.RetryAfterSeconds);
            }
        }
        catch (InvalidOperationException)
        {
            // Another run of the same message created it a moment before: this run watches that workflow.
            if (await workflows.GetAsync(workflowId, tenant, cancellationToken) is null)
            {
                throw;
            }
        }

        return null;
    }
}
