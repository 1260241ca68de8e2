using System.Security.Claims;
using System.Text.Json;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Server.Api;
using Felix.Server.Approvals;
using Felix.Server.Security;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Felix.Server.AgUi;

/// <summary>
/// A run's <c>resume</c> entries, each the answer to one interrupt (an approval), read as the approval decision it
/// stands for: <c>status</c> <c>resolved</c> with <c>payload</c> <c>{"decision", "comment"}</c> as the REST route takes
/// it, or <c>cancelled</c> (the user dismissed the interrupt), which rejects. The decisions are taken before the run's
/// stream starts, with the REST route's rules: the <c>felix.approve</c> scope, within the tenant, first decision wins.
/// </summary>
internal sealed record AgUiResume(string InterruptId, string WorkflowId, string ApprovalId, string Decision, string? Comment)
{
    public const string Resolved = "resolved";
    public const string Cancelled = "cancelled";

    /// <summary>
    /// A run ends with one interrupt (the approval its workflow waits on) and the next run answers it; the rest is room for
    /// a client that answers a thread's earlier interrupts again. Each entry costs store reads and a conditional write, and
    /// an answer repeated by its own decider is accepted, so without a bound one 1 MiB body would make thousands of them.
    /// </summary>
    public const int MaxEntries = 16;

    /// <summary>The longest workflow or approval id an interrupt id may name: the hub's limit on both.</summary>
    public const int MaxIdLength = 64;

    /// <summary>Whether the body carries any resume entry, so the caller's scope is checked before anything else.</summary>
    public static bool Any(JsonElement? resume) => resume is { ValueKind: JsonValueKind.Array } entries && entries.GetArrayLength() > 0;

    /// <summary>The entries, or none with the problems keyed <c>resume[i].field</c>.</summary>
    public static List<AgUiResume> Read(JsonElement? resume, IValidator<ApprovalDecision> validator, Dictionary<string, string[]> errors)
    {
        var answers = new List<AgUiResume>();
        if (resume is not { } value || value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return answers;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            errors["resume"] = ["resume must be a list of resume entries (interruptId, status, payload)."];
            return answers;
        }

        if (value.GetArrayLength() > MaxEntries)
        {
            errors["resume"] = [$"resume may answer at most {MaxEntries} interrupts."];
            return answers;
        }

        var index = 0;
        foreach (var entry in value.EnumerateArray())
        {
            var field = $"resume[{index++}]";
            if (entry.ValueKind != JsonValueKind.Object
                || !entry.TryGetProperty("interruptId", out var id) || id.ValueKind != JsonValueKind.String
                || !AgUiApprovals.TryParse(id.GetString()!, out var workflowId, out var approvalId)
                || workflowId.Length > MaxIdLength || approvalId.Length > MaxIdLength)
            {
                errors[$"{field}.interruptId"] = ["interruptId must be the id of an interrupt this thread's run ended with."];
                continue;
            }

            var status = entry.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            if (status is not (Resolved or Cancelled))
            {
                errors[$"{field}.status"] = [$"status must be {Resolved} or {Cancelled}."];
                continue;
            }

            var decision = new ApprovalDecision { Decision = status == Cancelled ? ApprovalDecisions.Reject : null };
            if (entry.TryGetProperty("payload", out var payload) && payload.ValueKind == JsonValueKind.Object)
            {
                decision.Decision = status == Cancelled ? decision.Decision : Text(payload, "decision");
                decision.Comment = Text(payload, "comment");
            }

            foreach (var failure in validator.Validate(decision).Errors)
            {
                var name = $"{field}.payload.{failure.PropertyName}";
                errors[name] = [.. errors.GetValueOrDefault(name, []), failure.ErrorMessage];
            }

            answers.Add(new AgUiResume(id.GetString()!, workflowId, approvalId, decision.Decision ?? "", decision.Comment));
        }

        return errors.Count > 0 ? [] : answers;
    }

    /// <summary>
    /// Takes the decisions; null when every entry is answered, else the problem for the first that cannot be. An entry
    /// that repeats the decision already taken by the same caller is an answer too: a client whose resumed run dropped
    /// sends its answers again, since it still holds the interrupts.
    /// </summary>
    public static async Task<ProblemHttpResult?> AnswerAsync(
        IReadOnlyList<AgUiResume> answers, string threadId, ClaimsPrincipal user, ApprovalService approvals, CancellationToken cancellationToken)
    {
        var owner = FelixClaims.OwnerFilter(user);
        var decidedBy = FelixClaims.NameOf(user);
        for (var i = 0; i < answers.Count; i++)
        {
            var answer = answers[i];
            var workflow = await approvals.GetAsync(answer.WorkflowId, owner, cancellationToken);
            if (workflow is null)
            {
                return ApiProblems.WorkflowNotFound(answer.WorkflowId);
            }

            if (workflow.ThreadId != threadId || workflow.FindApproval(answer.ApprovalId) is null)
            {
                return UnknownInterrupt(i, threadId, answer.InterruptId);
            }

            var outcome = await approvals.DecideAsync(answer.WorkflowId, answer.ApprovalId, answer.Decision, answer.Comment, decidedBy, owner, cancellationToken);
            switch (outcome.Result)
            {
                case DecideResult.Decided:
                    break;
                case DecideResult.AlreadyDecided when outcome.Approval is { } won
                    && won.Decision == answer.Decision && won.Comment == answer.Comment && won.DecidedBy == decidedBy:
                    break;
                case DecideResult.AlreadyDecided:
                    return TypedResults.Problem(
                        statusCode: StatusCodes.Status409Conflict, title: ApprovalsApi.AlreadyDecided,
                        detail: $"Interrupt '{answer.InterruptId}' was already answered. {outcome.Approval!.Describe()}",
                        extensions: new Dictionary<string, object?> { ["decision"] = outcome.Approval!.Decision, ["decided_by"] = outcome.Approval.DecidedBy });
                case DecideResult.WorkflowNotFound:
                    return ApiProblems.WorkflowNotFound(answer.WorkflowId);
                case DecideResult.ApprovalNotFound:
                    return UnknownInterrupt(i, threadId, answer.InterruptId);
                case DecideResult.RevisionLimitReached:
                    return ApiProblems.Conflict(ApprovalsApi.RevisionLimitReached, approvals.RevisionLimitDetail(outcome.Approval!));
                default:
                    return ApiProblems.Conflict("Workflow already finished",
                        $"Workflow '{answer.WorkflowId}' is {outcome.Workflow?.Status}; interrupt '{answer.InterruptId}' can no longer be answered.");
            }
        }

        return null;
    }

    private static ProblemHttpResult UnknownInterrupt(int index, string threadId, string interruptId) =>
        ApiProblems.Validation(new Dictionary<string, string[]>
        {
            [$"resume[{index}].interruptId"] = [$"Thread '{threadId}' has no interrupt '{interruptId}'."],
        });

    private static string? Text(JsonElement payload, string name) =>
        payload.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
