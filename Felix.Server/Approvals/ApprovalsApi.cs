using System.Security.Claims;
using Felix.Contracts.Dtos;
using Felix.Server.Api;
using Felix.Server.Api.OpenApi;
using Felix.Server.Platform;
using Felix.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Felix.Server.Approvals;

internal static class ApprovalsApi
{
    public static RouteGroupBuilder MapApprovalsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/workflows/{workflowId}/approvals").WithTags("Approvals").RequireAuthorization().ProducesUnauthorized().AllowHead()
            .ProducesStorageUnavailable();
        group.MapGet("/", ListAsync).WithSummary("List a workflow's approval requests, pending and resolved")
            .ProducesProblem(StatusCodes.Status404NotFound, "Workflow not found", "There is no workflow 'wf_3f2a9c0d1e2b4a6f'.");
        group.MapPost("/{approvalId}", DecideAsync)
            .AddEndpointFilter(RequireApproveScope)
            .AddEndpointFilter<ValidationFilter<ApprovalDecision>>()
            .WithSummary("Approve, reject or revise a waiting step")
            .WithDescription("Needs the felix.approve scope. The first decision wins; a later one gets 409 naming it.")
            .WithRequestExample(new ApprovalDecision { Decision = "revise", Comment = "Cite a source for the second point." })
            .ProducesMalformed("The request body is not valid JSON for this endpoint.")
            .ProducesUnsupportedMediaType()
            .ProducesProblem(StatusCodes.Status403Forbidden, Forbidden, ForbiddenDetail)
            .ProducesProblem(StatusCodes.Status404NotFound, "Approval not found", "Workflow 'wf_3f2a9c0d1e2b4a6f' has no approval 'apr_research_001_1'.")
            .ProducesProblem(StatusCodes.Status409Conflict, AlreadyDecided, "Approval 'apr_research_001_1' was already decided: approve by api-key:acme:ci.")
            .ProducesProblem(StatusCodes.Status409Conflict, ApiProblems.WorkflowFinishedTitle, WorkflowFinishedDetail("wf_3f2a9c0d1e2b4a6f", "cancelled"))
            .ProducesProblem(StatusCodes.Status409Conflict, RevisionLimitReached,
                "The step of agent 'research_001' was sent back 5 times, the most Felix:Approvals:MaxRevisionsPerStep allows: approve or reject it.")
            .ProducesValidationProblem("decision", "decision must be one of approve, reject, revise.");
        return group;
    }

    public const string Forbidden = "Forbidden";
    public const string ForbiddenDetail = $"Deciding approvals needs the {FelixClaims.ApproveScope} scope.";
    public const string AlreadyDecided = "Approval already decided";
    public const string RevisionLimitReached = "Revision limit reached";

    private static async ValueTask<object?> RequireApproveScope(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        FelixClaims.CanApprove(context.HttpContext.User)
            ? await next(context)
            : TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: Forbidden, detail: ForbiddenDetail);

    private static async Task<Results<Ok<ApprovalListResponse>, ProblemHttpResult>> ListAsync(
        string workflowId, ClaimsPrincipal user, ApprovalService approvals, CancellationToken cancellationToken)
    {
        var workflow = await approvals.GetAsync(workflowId, FelixClaims.OwnerFilter(user), cancellationToken);
        return workflow is null
            ? ApiProblems.WorkflowNotFound(workflowId)
            : TypedResults.Ok(new ApprovalListResponse { WorkflowId = workflowId, Approvals = workflow.Approvals.Select(a => a.ToInfo(workflowId)).ToList() });
    }

    private static async Task<Results<Ok<ApprovalInfo>, ProblemHttpResult>> DecideAsync(
        string workflowId, string approvalId, ApprovalDecision body, ClaimsPrincipal user, ApprovalService approvals, CancellationToken cancellationToken)
    {
        var outcome = await approvals.DecideAsync(
            workflowId, approvalId, body.Decision!, body.Comment, FelixClaims.NameOf(user), FelixClaims.OwnerFilter(user), cancellationToken);
        return outcome.Result switch
        {
            DecideResult.Decided => TypedResults.Ok(outcome.Approval!.ToInfo(workflowId)),
            DecideResult.WorkflowNotFound => ApiProblems.WorkflowNotFound(workflowId),
            DecideResult.ApprovalNotFound => TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound, title: "Approval not found", detail: $"Workflow '{workflowId}' has no approval '{SafeText.Escape(approvalId)}'."),
            DecideResult.AlreadyDecided => TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict, title: AlreadyDecided, detail: outcome.Approval!.Describe(),
                extensions: new Dictionary<string, object?> { ["decision"] = outcome.Approval!.Decision, ["decided_by"] = outcome.Approval.DecidedBy }),
            DecideResult.RevisionLimitReached => ApiProblems.Conflict(RevisionLimitReached, approvals.RevisionLimitDetail(outcome.Approval!)),
            _ => ApiProblems.Conflict(ApiProblems.WorkflowFinishedTitle, WorkflowFinishedDetail(workflowId, outcome.Workflow?.Status)),
        };
    }

    private static string WorkflowFinishedDetail(string workflowId, string? status) =>
        $"Workflow '{workflowId}' is {status}; its approvals can no longer be decided.";
}
